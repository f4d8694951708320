//! The classifier's output: which department's topic a message is about, and
//! whether it is abusive. A classifier only flags; every consequence for a
//! citizen is a person's decision.

use serde::{Deserialize, Serialize};

crate::slug_enum!(
    /// What a request is about; each topic maps to a department in config.
    pub enum Topic("topic") {
        /// Potholes, snow removal, sidewalks, street lights, signs, road works.
        RoadsSnow => "roads_snow",
        /// Water mains, leaks, boîte de service, boil-water advisories, sewers, hydrants, meters.
        WaterSewer => "water_sewer",
        /// Garbage, recycling and organics collection, bulky items, écocentre, bins.
        Waste => "waste",
        /// Building, renovation, pool, fence permits; zoning; inspections; tree felling on private land.
        PermitsPlanning => "permits_planning",
        /// Tax bills, assessment, payments, refunds.
        TaxesBilling => "taxes_billing",
        /// Registration, day camps, library, pools, rinks, events, room rental.
        Recreation => "recreation",
        /// Parks, playgrounds, public trees, ash borer, green spaces.
        ParksTrees => "parks_trees",
        /// Fire prevention, smoke detectors, open fires, emergency measures.
        PublicSafety => "public_safety",
        /// Dog licences, strays, wildlife.
        Animals => "animals",
        /// Noise, neighbours, unkempt private lots, odours.
        Nuisances => "nuisances",
        /// Job applications and offers.
        Jobs => "jobs",
        /// Council meetings, elections, access to documents, complaints about a decision or the service.
        CouncilAdmin => "council_admin",
        /// Hours, contact, newsletters, alert subscriptions, anything else.
        GeneralInfo => "general_info",
    }
);

crate::slug_enum!(
    /// The kinds of abuse the policy names.
    pub enum AbuseKind("abuse kind") {
        /// Insulting language aimed at a person.
        Insult => "insult",
        /// A threat of harm.
        Threat => "threat",
        /// Intimidation, veiled threats, pressure on staff.
        Intimidation => "intimidation",
        /// Repeated or targeted harassment.
        Harassment => "harassment",
        /// Slurs or demeaning statements about a group.
        Hate => "hate",
    }
);

/// The topic decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum TopicVerdict {
    /// A topic with the model's confidence in 0..=1.
    Label {
        /// The topic.
        topic: Topic,
        /// Confidence in 0..=1.
        score: f32,
    },
    /// Not confident enough to say; an agent picks.
    Abstain {
        /// Why, for the agent.
        reason: String,
    },
}

/// The abuse decision, with reasons a supervisor can read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum AbuseVerdict {
    /// No abuse found.
    Clean {
        /// Probability of abuse in 0..=1.
        score: f32,
    },
    /// In the uncertainty band: a supervisor should look ("à vérifier").
    ToVerify {
        /// The most likely kind, when one stands out.
        kind: Option<AbuseKind>,
        /// Probability of abuse in 0..=1.
        score: f32,
        /// Why, in words a supervisor reads.
        reasons: Vec<String>,
    },
    /// Abusive: flagged for a supervisor's review.
    Abusive {
        /// The kind of abuse.
        kind: AbuseKind,
        /// Probability of abuse in 0..=1.
        score: f32,
        /// Why, in words a supervisor reads.
        reasons: Vec<String>,
    },
}

impl AbuseVerdict {
    /// Whether the message goes to the supervisor's review queue.
    pub fn needs_review(&self) -> bool {
        !matches!(self, AbuseVerdict::Clean { .. })
    }

    /// The abuse probability.
    pub fn score(&self) -> f32 {
        match self {
            AbuseVerdict::Clean { score }
            | AbuseVerdict::ToVerify { score, .. }
            | AbuseVerdict::Abusive { score, .. } => *score,
        }
    }
}

/// Everything the classifier says about one message, with the version of the
/// model that said it so decisions can be audited and replayed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    /// Topic decision.
    pub topic: TopicVerdict,
    /// Abuse decision.
    pub abuse: AbuseVerdict,
    /// Identifies the model files and rules that produced this.
    pub model_version: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_are_thirteen_topics_and_five_abuse_kinds() {
        assert_eq!(Topic::ALL.len(), 13);
        assert_eq!(AbuseKind::ALL.len(), 5);
        for t in Topic::ALL {
            assert_eq!(Topic::parse(t.as_str()), Some(*t));
        }
        for k in AbuseKind::ALL {
            assert_eq!(AbuseKind::parse(k.as_str()), Some(*k));
        }
    }

    #[test]
    fn only_clean_messages_skip_review() {
        assert!(!AbuseVerdict::Clean { score: 0.1 }.needs_review());
        let v = AbuseVerdict::ToVerify {
            kind: None,
            score: 0.5,
            reasons: vec![],
        };
        assert!(v.needs_review());
    }
}
