//! Abusive sentences (by kind) and hard negatives for the corpus generator.
//!
//! Slots: `{ins}` a name-calling word, `{insp}` its plural, `{staff}` a staff
//! member, `{staffp}` staff in the plural, `{sacre}` a sacre, `{harm}` a harm
//! verb, `{group}` a group of people, `{dem}` a demeaning word, `{thing}` a
//! thing of the message's topic, `{auto}` a car, `{rue}` a street, `{slur}`
//! a slur. Several insult and threat words here are deliberately absent from
//! the rule lexicons, so the learned model sees abuse the rules miss.

/// Name-calling words (singular), French.
pub const INSULTS_FR: &[&str] = &[
    "cave",
    "épais",
    "niaiseux",
    "imbécile",
    "idiot",
    "crétin",
    "con",
    "connard",
    "abruti",
    "débile",
    "tarla",
    "nono",
    "trou de cul",
    "sans-dessein",
    "sans-génie",
    "enfoiré",
    "bâtard",
    "gnochon",
    "innocent",
    "zouf",
    "tête de linotte",
    "sans-cervelle",
    "face de pet",
    "tête de pioche",
    "insignifiant",
    "gros tata",
    "cerveau de moineau",
    "crosseur",
    "mangeux de marde",
    "morpion",
    "tête enflée",
    "minus",
    "parasite",
    "bon à rien",
    "incompétent",
    "clown",
    "guignol",
    "pas de tête",
];

/// Name-calling words (plural), French.
pub const INSULTS_FR_PLURAL: &[&str] = &[
    "caves",
    "épais",
    "niaiseux",
    "imbéciles",
    "idiots",
    "crétins",
    "cons",
    "connards",
    "abrutis",
    "débiles",
    "tarlas",
    "nonos",
    "trous de cul",
    "sans-dessein",
    "enfoirés",
    "bâtards",
    "gnochons",
    "incompétents",
    "fainéants",
    "paresseux",
    "parasites",
    "bons à rien",
    "clowns",
    "guignols",
    "crosseurs",
    "insignifiants",
    "minus",
    "sans-cervelle",
    "têtes enflées",
    "voleurs",
];

/// Name-calling words (singular), English.
pub const INSULTS_EN: &[&str] = &[
    "idiot",
    "moron",
    "imbecile",
    "dumbass",
    "jackass",
    "asshole",
    "bastard",
    "dickhead",
    "prick",
    "scumbag",
    "piece of shit",
    "halfwit",
    "nitwit",
    "clown",
    "loser",
    "bonehead",
    "knucklehead",
    "waste of space",
    "waste of oxygen",
    "airhead",
    "meathead",
    "numbskull",
    "useless idiot",
    "tool",
];

/// Name-calling words (plural), English.
pub const INSULTS_EN_PLURAL: &[&str] = &[
    "idiots",
    "morons",
    "imbeciles",
    "dumbasses",
    "assholes",
    "bastards",
    "clowns",
    "losers",
    "bozos",
    "boneheads",
    "knuckleheads",
    "halfwits",
    "incompetent fools",
    "lazy bums",
    "parasites",
    "pieces of shit",
    "numbskulls",
    "useless idiots",
    "crooks",
];

/// Staff, singular, French.
pub const STAFF_FR: &[&str] = &[
    "la préposée",
    "le préposé",
    "votre inspecteur",
    "l'inspecteur",
    "le gars de la charrue",
    "le col bleu",
    "la fille au téléphone",
    "madame Gagnon",
    "monsieur Roy",
    "Julie au comptoir",
    "le maire",
    "la mairesse",
    "votre directeur",
    "le chauffeur du camion",
    "la réceptionniste",
    "le conseiller de mon district",
    "votre agente",
    "le boss des travaux publics",
    "l'employé",
];

/// Staff, plural, French.
pub const STAFF_FR_PLURAL: &[&str] = &[
    "vos employés",
    "les cols bleus",
    "vos fonctionnaires",
    "les gars de la ville",
    "vos inspecteurs",
    "les gars des vidanges",
    "les élus",
    "vos préposés",
    "les conseillers",
    "le monde à l'hôtel de ville",
    "vos déneigeurs",
    "les employés de la voirie",
    "vos agents",
];

/// Staff, singular, English.
pub const STAFF_EN: &[&str] = &[
    "the clerk",
    "your inspector",
    "the plow driver",
    "the lady at the desk",
    "the mayor",
    "your receptionist",
    "the guy on the phone",
    "Mrs. Gagnon",
    "Mr. Roy",
    "your supervisor",
];

/// Staff, plural, English.
pub const STAFF_EN_PLURAL: &[&str] = &[
    "your employees",
    "your garbage guys",
    "the plow drivers",
    "city workers",
    "your staff",
    "the people at city hall",
    "your inspectors",
    "the councillors",
    "your bureaucrats",
];

/// Sacres as written by citizens (with their variants).
pub const SACRES: &[&str] = &[
    "câlisse",
    "tabarnak",
    "crisse",
    "ostie",
    "esti",
    "ciboire",
    "sacrament",
    "calvaire",
    "maudit",
    "tabarnac",
    "câlice",
    "osti",
    "viarge",
    "criss",
    "tabarnouche",
    "torrieux",
    "mautadit",
];

/// Harm verbs, French.
pub const HARM_FR: &[&str] = &[
    "tuer",
    "casser la gueule",
    "péter la face",
    "crisser une volée",
    "défoncer la face",
    "faire la peau",
    "étrangler",
    "égorger",
    "tabasser",
    "casser les deux jambes",
    "buter",
    "sacrer une claque",
    "rentrer dedans",
    "refaire le portrait",
    "passer sur le corps",
];

/// Harm verbs, English.
pub const HARM_EN: &[&str] = &[
    "kill",
    "beat the shit out of",
    "smash",
    "strangle",
    "shoot",
    "stab",
    "break the legs of",
    "put in the hospital",
    "hurt",
    "knock out",
    "run over",
];

/// Groups of people, French (plural).
pub const GROUPS_FR: &[&str] = &[
    "immigrants",
    "immigrés",
    "Arabes",
    "musulmans",
    "Juifs",
    "Noirs",
    "Haïtiens",
    "Chinois",
    "autochtones",
    "Anglais",
    "gais",
    "trans",
    "réfugiés",
    "Indiens",
    "assistés sociaux",
];

/// Groups of people, English (plural).
pub const GROUPS_EN: &[&str] = &[
    "immigrants",
    "Muslims",
    "Jews",
    "blacks",
    "Haitians",
    "Chinese",
    "natives",
    "gays",
    "refugees",
    "Indians",
    "foreigners",
    "frenchies",
];

/// Demeaning words said of a group, French.
pub const DEMEANING_FR: &[&str] = &[
    "des parasites",
    "de la vermine",
    "des rats",
    "des animaux",
    "des sauvages",
    "des déchets",
    "de la racaille",
    "inférieurs",
    "des criminels",
    "des profiteurs",
    "une plaie",
    "des porcs",
];

/// Demeaning words said of a group, English.
pub const DEMEANING_EN: &[&str] = &[
    "parasites",
    "vermin",
    "animals",
    "savages",
    "subhuman",
    "criminals",
    "a plague",
    "filthy",
    "rats",
    "scum",
];

/// Slurs used in hateful messages (needed to teach the model what to flag).
pub const SLURS: &[&str] = &[
    "nègre",
    "bougnoule",
    "fif",
    "tapette",
    "chinetoque",
    "gouine",
    "nigger",
    "faggot",
    "chink",
    "towelhead",
    "kike",
    "spic",
];

/// Insults, French: `{ins}` singular, `{insp}` plural.
pub const INSULT_FR: &[&str] = &[
    "T'es un {ins}.",
    "t'es rien qu'un {sacre} de {ins}",
    "Vous êtes une gang de {insp}.",
    "vous etes des {insp}",
    "Espèce de {ins}!",
    "{sacre} de {ins}",
    "Maudite gang de {insp} à l'hôtel de ville.",
    "{staffp} sont des {insp}.",
    "{staff} est un {ins} fini.",
    "Bande de {insp}!",
    "Va chier, {ins}.",
    "Mange d'la marde.",
    "Mangez donc toute de la marde.",
    "Ferme ta yeule pis fais ta job.",
    "tes juste un {ins}",
    "Allez vous faire foutre, {insp}.",
    "Quelle gang de {insp}, sérieux.",
    "Gros {ins}.",
    "Pauvre {ins}, tu comprends rien.",
    "Je vous emmerde, {insp}.",
    "Vous êtes vraiment des {insp} finis.",
    "Ta gueule, {ins}.",
    "T'es vraiment trop {ins} pour comprendre.",
    "C'est toi le {ins} qui a pris mon appel?",
    "{staff}, c'est une vraie {ins}.",
    "Fuck you pis votre règlement.",
    "Es-tu {ins} ou tu fais exprès?",
    "Dis à {staff} que c'est un {ins}.",
];

/// Insults, English.
pub const INSULT_EN: &[&str] = &[
    "You're an {ins}.",
    "you are a complete {ins}",
    "You {insp} can't do anything right.",
    "{staffp} are {insp}.",
    "{staff} is a total {ins}.",
    "What a bunch of {insp}.",
    "Fuck you and your bylaws.",
    "Go to hell, {ins}.",
    "Shut up and do your job, {ins}.",
    "you fucking {insp}",
    "Screw you all, {insp}.",
    "Bunch of useless {insp}.",
    "Tell {staff} he's an {ins}.",
    "Kiss my ass.",
    "Are you {insp} or what?",
];

/// Threats, French.
pub const THREAT_FR: &[&str] = &[
    "Je vais te {harm}.",
    "jva t {harm}",
    "Si ça continue je vais aller {harm} {staff}.",
    "La prochaine fois que je vois {staff}, je vais lui {harm}.",
    "On va vous {harm} un par un.",
    "T'es mort.",
    "Vous êtes tous morts.",
    "Je vais passer à l'hôtel de ville avec mon gun.",
    "Je vais mettre le feu à l'hôtel de ville.",
    "Je vais te rentrer dedans avec mon char la prochaine fois que je te vois sur la rue.",
    "Tu verras pas Noël, mon {sacre}.",
    "Quelqu'un devrait {harm} {staff}.",
    "Je vais faire un malheur si personne règle ça.",
    "tu vas manger une volée",
    "Je vais vous tirer dessus un par un.",
    "Je te jure que je vais te {harm} si tu reviens sur mon terrain.",
    "Ta face va connaître mon poing.",
    "Je vais finir par tuer quelqu'un à l'hôtel de ville.",
    "Je vais brûler ton char.",
];

/// Threats, English.
pub const THREAT_EN: &[&str] = &[
    "I'm going to {harm} you.",
    "I'll {harm} {staff} if I see him again.",
    "You're dead.",
    "I will kill every one of you.",
    "I'm coming to city hall with my gun.",
    "Someone should {harm} {staff}.",
    "I'll burn your house down.",
    "I'll put you in the hospital.",
    "You won't make it home tonight.",
    "Next time I see {staff} I'll {harm} him.",
];

/// Intimidation, French.
pub const INTIMIDATION_FR: &[&str] = &[
    "Je sais où tu restes.",
    "Je sais où vous habitez, {staff}.",
    "Je connais ton char, le {auto} dans le stationnement.",
    "Je t'attends à ta sortie à 5 h.",
    "Ce serait dommage qu'il arrive quelque chose à ta famille.",
    "On va voir si t'es aussi brave dans le stationnement.",
    "Fais attention quand tu rentres chez vous le soir.",
    "J'ai ton adresse, {staff}.",
    "Je sais à quelle école vont tes enfants.",
    "Tu perds rien pour attendre.",
    "Surveille tes arrières.",
    "Je connais du monde qui pourrait s'occuper de toi.",
    "Belle maison que t'as sur la {rue}.",
    "Tu sais pas à qui t'as affaire, mon {ins}.",
    "Je vais trouver où tu restes et on va jaser.",
    "Ton char est stationné pas loin, hein.",
    "Je vais t'attendre dehors, on va régler ça entre hommes.",
];

/// Intimidation, English.
pub const INTIMIDATION_EN: &[&str] = &[
    "I know where you live.",
    "I know where {staff} lives.",
    "Nice house you have on {rue}.",
    "It'd be a shame if something happened to your car.",
    "I'll be waiting in the parking lot at 5.",
    "Watch your back.",
    "You don't know who you're dealing with.",
    "I know which school your kids go to.",
    "I'll find you after your shift.",
];

/// Harassment, French.
pub const HARASSMENT_FR: &[&str] = &[
    "T'es belle quand tu te fâches, donne-moi ton numéro.",
    "Dis à la petite brune au comptoir que je l'attends.",
    "Je vais t'écrire tous les jours jusqu'à ce que tu sortes avec moi.",
    "Envoie-moi une photo de toi.",
    "Je t'ai vue au IGA hier, t'étais sexy.",
    "Je veux que ce soit Julie qui me réponde, elle a une belle voix sexy.",
    "T'as des belles fesses, la préposée.",
    "Je t'ai trouvée sur Facebook, t'es encore plus cute en vrai.",
    "Je vais continuer d'appeler {staff} chez elle tant qu'elle me rappellera pas.",
    "Si tu veux que je paye, viens chez moi ce soir ma belle.",
    "Je t'ai suivie jusqu'à ton auto hier, t'es pas facile à rejoindre.",
];

/// Harassment, English.
pub const HARASSMENT_EN: &[&str] = &[
    "You're hot, give me your number.",
    "Send me a pic of you.",
    "I'll keep messaging you every day until you go out with me.",
    "I saw you at the grocery store, you looked sexy.",
    "I want the cute receptionist to call me back personally.",
    "I found your Instagram, nice pics.",
    "Hey sexy, are you single?",
];

/// Hate, French.
pub const HATE_FR: &[&str] = &[
    "Les {group} sont {dem}.",
    "Retourne dans ton pays.",
    "Maudits {group}, ils devraient tous être déportés.",
    "Sales {group}.",
    "On devrait expulser tous les {group} du quartier.",
    "Les {group} du 4e, c'est {dem}.",
    "Encore un {slur} qui travaille à la ville.",
    "Y a trop de {group} à Sainte-Julie, dehors les {group}.",
    "Votre préposée voilée, retournez d'où vous venez.",
    "Les {group} volent nos jobs à la ville.",
];

/// Hate, English.
pub const HATE_EN: &[&str] = &[
    "{group} are {dem}.",
    "Go back to your country.",
    "Dirty {group}.",
    "All these {group} should be deported.",
    "Another {slur} working at city hall.",
    "The {group} on my street are {dem}.",
];

/// Sacres about a thing (clean), French: `{thing}` from the topic.
pub const SACRE_THING_FR: &[&str] = &[
    "Le {sacre} de {thing} est encore là!",
    "Ce {sacre} de {thing} me rend fou.",
    "{sacre}! Ça fait trois semaines que j'attends.",
    "C'est quoi le {sacre} de problème avec votre {thing}?",
    "La {sacre} de {thing} a pété mon pneu.",
    "{sacre} que c'est long.",
    "Chu en {sacre}, réglez ça.",
    "Mon {sacre} de {thing} est encore brisé.",
    "C'est rendu n'importe quoi, {sacre}.",
    "Ostie que j'suis tanné de ce {thing}-là.",
    "Tabarnak, encore!",
    "Le {thing} est toute fucké, {sacre}.",
    "Ça prend-tu un {sacre} de miracle pour que quelqu'un bouge?",
    "Ciboire, on paye des taxes pour ça?",
];

/// Swearing about a thing (clean), English.
pub const SACRE_THING_EN: &[&str] = &[
    "This fucking {thing} is still there!",
    "The damn {thing} wrecked my car.",
    "What the hell is wrong with your {thing}?",
    "Holy shit, it's been three weeks.",
    "This is bullshit, fix the {thing}.",
    "The goddamn {thing} is broken again.",
    "I'm so fucking tired of this {thing}.",
];

/// Fury and sarcasm without insults (clean), French.
pub const FURY_FR: &[&str] = &[
    "C'EST INACCEPTABLE!!!",
    "Je paye 4000 $ de taxes par année pour ça?",
    "Vous faites rien, absolument rien.",
    "Bravo la ville, encore une belle job.",
    "Merci pour rien.",
    "C'est honteux, une vraie farce.",
    "Vos employés sont incompétents, ça fait trois fois que je rappelle.",
    "Franchement, votre service est pourri.",
    "C'est du grand n'importe quoi, je suis furieux.",
    "Je suis en tabarnak et je le cache pas.",
    "Wow, quel service exceptionnel... pas.",
    "Ça n'a aucun bon sens, je suis écœuré.",
    "Est-ce que quelqu'un travaille dans cette ville?",
    "Félicitations, vous avez encore réussi à tout manquer.",
    "Votre gestion est lamentable.",
    "C'est la troisième fois que je vous écris et personne ne répond!!!",
    "J'en reviens pas de l'incompétence de votre service.",
    "Vous devriez avoir honte.",
    "Je vais rappeler tous les jours tant que ça sera pas réglé.",
    "Vous allez entendre parler de moi.",
    "Bravo pour le {thing}, encore une belle job.",
    "Belle job avec le {thing}, vraiment impressionnant.",
    "Merci pour rien avec votre {thing}.",
    "Le {thing}, c'est du travail de broche à foin.",
    "Wow, le {thing} est encore pire qu'avant, félicitations.",
];

/// Fury and sarcasm without insults (clean), English.
pub const FURY_EN: &[&str] = &[
    "THIS IS UNACCEPTABLE!!!",
    "I pay $4,000 a year in taxes for this?",
    "You people do nothing.",
    "Great job as usual, city of Sainte-Julie.",
    "Thanks for nothing.",
    "This is a disgrace.",
    "Your service is pathetic.",
    "I'm fed up, this is ridiculous.",
    "Your staff is incompetent, this is the third time I call.",
    "I'll keep calling every day until this is fixed.",
    "Great job with the {thing}, really impressive.",
    "Thanks for nothing about the {thing}.",
];

/// Legal recourse (clean), French.
pub const LEGAL_FR: &[&str] = &[
    "Je vais vous envoyer une mise en demeure.",
    "Mon avocat va communiquer avec vous.",
    "Je vais poursuivre la ville aux petites créances.",
    "Si rien n'est fait d'ici vendredi, je dépose une plainte formelle et je prends un avocat.",
    "Vous allez recevoir une mise en demeure de mon avocate.",
    "Je me réserve tous mes recours, y compris judiciaires.",
    "Mon assureur va vous réclamer les dommages.",
    "Vous allez le regretter, je m'en vais voir un avocat.",
    "Je vais porter plainte au Protecteur du citoyen.",
    "Je vais en parler à mon avocat et on verra en cour.",
];

/// Legal recourse (clean), English.
pub const LEGAL_EN: &[&str] = &[
    "I will sue the city.",
    "My lawyer will be in touch.",
    "Expect a formal demand letter from my attorney.",
    "I'm taking this to small claims court.",
    "You'll regret this, my lawyer is on it.",
];

/// Media recourse (clean), French.
pub const MEDIA_FR: &[&str] = &[
    "J'appelle TVA demain matin.",
    "Je vais envoyer ça au Journal de Montréal.",
    "Je vais publier les photos sur Facebook dans le groupe de Sainte-Julie.",
    "J.E. va être intéressé par votre façon de traiter les citoyens.",
    "Je contacte La Presse et Radio-Canada.",
    "Les médias vont en entendre parler.",
    "Je vais faire une vidéo sur TikTok pour montrer ça à tout le monde.",
];

/// Media recourse (clean), English.
pub const MEDIA_EN: &[&str] = &[
    "I'm calling CTV.",
    "The Gazette will hear about this.",
    "I'm posting this on social media.",
    "I'll contact CBC about this.",
];

/// Escalation to elected officials (clean), French.
pub const POLITICAL_FR: &[&str] = &[
    "Je vais le dire au maire à la séance.",
    "Je serai à la prochaine séance du conseil pour poser la question.",
    "J'écris à mon conseiller et au maire.",
    "On va voir ce que la mairesse va dire à la période de questions.",
    "Je vais faire signer une pétition dans le quartier.",
    "Aux prochaines élections, je m'en souviendrai.",
    "Je vais écrire à notre députée.",
];

/// Escalation to elected officials (clean), English.
pub const POLITICAL_EN: &[&str] = &[
    "I'll raise this with the mayor at the council meeting.",
    "I'm writing to my councillor.",
    "I'll remember this at the next election.",
];

/// Quoted insults and reported threats (clean), French.
pub const QUOTED_FR: &[&str] = &[
    "Mon voisin m'a traité de {ins} devant mes enfants.",
    "Le gars d'en face m'a crié « va chier » quand je lui ai demandé de baisser sa musique.",
    "Quelqu'un a écrit « {slur} » sur ma clôture avec de la peinture.",
    "Mon voisin a menacé de tuer mon chien s'il jappe encore.",
    "Le conducteur m'a dit « je vais te casser la gueule » et il est parti.",
    "Ma voisine se fait traiter de {ins} par les jeunes du parc.",
    "Il a dit qu'il allait me faire la peau, j'ai appelé la police.",
    "Des jeunes ont crié « sales immigrés » à ma fille au parc.",
    "Le chauffeur de l'autobus s'est fait traiter de {ins} par un passager.",
    "Mon voisin m'appelle « le gros {ins} » chaque fois que je sors.",
];

/// Quoted insults and reported threats (clean), English.
pub const QUOTED_EN: &[&str] = &[
    "My neighbour called me an {ins} in front of my kids.",
    "Someone spray painted \"{slur}\" on the park bench.",
    "The guy next door said \"I'll kill your dog\" and slammed the door.",
    "Teenagers yelled \"go back to your country\" at my wife in the park.",
    "My neighbour keeps calling me a {ins} when I walk by.",
];

/// Self-deprecation (clean), French.
pub const SELF_FR: &[&str] = &[
    "Chu un vrai {ins}, j'ai oublié de sortir mon bac.",
    "Je suis vraiment {ins}, j'ai payé le mauvais compte.",
    "Je me sens tellement niaiseux, j'ai perdu mon numéro de requête.",
    "Moi le {ins}, j'ai jeté la lettre sans la lire.",
    "Je suis nono, j'ai oublié la date limite.",
    "J'ai l'air d'une vraie cruche, excusez-moi.",
];

/// Self-deprecation (clean), English.
pub const SELF_EN: &[&str] = &[
    "I'm such an {ins}, I forgot to put my bin out.",
    "Silly me, I paid the wrong account.",
    "I feel like an idiot, I lost my reference number.",
    "My bad, I'm a complete {ins} with these forms.",
];

/// Venting about a neighbour (clean), French.
pub const VENT_FR: &[&str] = &[
    "Mon voisin est un vrai {ins}, il souffle sa neige dans ma cour.",
    "Le proprio d'à côté est un {sacre} de {ins}, il laisse ses vidanges partout.",
    "Les jeunes du coin sont des {insp}, ils brisent tout au parc.",
];

/// Hyperbole with harm words (clean), French.
pub const HYPERBOLE_FR: &[&str] = &[
    "Ce bruit-là va me tuer.",
    "La chaleur nous tue dans le logement.",
    "Je vais abattre le frêne malade dans ma cour, ça prend un permis?",
    "Comment tuer les mauvaises herbes sans pesticide?",
    "Je vais crever de froid si le chauffage du centre communautaire ne marche pas.",
    "Quelqu'un va se faire tuer à cette intersection-là.",
    "Mes enfants me font mourir de rire avec leurs bonhommes de neige.",
    "Je vais le détruire moi-même ce nid de guêpes si personne vient.",
    "On se fait égorger avec les taxes.",
    "Je vais tuer le temps à la bibliothèque en attendant.",
];

/// Hyperbole with harm words (clean), English.
pub const HYPERBOLE_EN: &[&str] = &[
    "This noise is killing me.",
    "The heat is killing us in this apartment.",
    "How do I kill the weeds without pesticides?",
    "Someone is going to get killed at this intersection.",
    "These taxes are murdering us.",
];

/// Neutral mentions of groups (clean), French.
pub const GROUP_NEUTRAL_FR: &[&str] = &[
    "Offrez-vous des cours de francisation pour les immigrants?",
    "Y a-t-il des activités adaptées pour les personnes handicapées?",
    "La communauté haïtienne organise une fête au parc, faut-il un permis?",
    "Est-ce que la bibliothèque a des livres en arabe pour les nouveaux arrivants?",
    "Les familles réfugiées du quartier auraient besoin d'information en anglais.",
    "Un groupe de femmes voudrait louer la salle pour un atelier.",
    "Est-ce qu'il y a un drapeau de la fierté gaie à l'hôtel de ville cette année?",
];

/// Neutral mentions of groups (clean), English.
pub const GROUP_NEUTRAL_EN: &[&str] = &[
    "Do you offer French classes for immigrants?",
    "Are there activities for people with disabilities?",
    "The Haitian community is organizing a party in the park, do we need a permit?",
    "Does the library have books for newcomers in Arabic?",
];

/// Cars, for intimidation.
pub const CARS: &[&str] = &[
    "Civic gris",
    "F-150 noir",
    "RAV4 blanc",
    "Corolla rouge",
    "Mazda bleue",
];
