//! The test mail servers as the email tests see them: Dovecot (IMAP) and
//! Postfix (SMTP, delivering into Dovecot), started by
//! `tests/setup/mail-servers.sh`. Any address in saintejulie.test and
//! example.test exists, so each test uses fresh addresses and tests run in
//! parallel without seeing each other's mail. The tests never skip: without
//! the servers they fail and say how to start them.

use std::time::{Duration, Instant};

use async_imap::types::Flag;
use connectors::email::{
    AfterProcessingSetting, EmailSettings, ImapAuthMethod, MailboxSettings, SmtpSettings,
    TransportSecurity,
};
use futures::TryStreamExt;
use models::EmailAddress;
use secrecy::SecretString;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// How long a message may take from SMTP to IMAP on a loaded machine.
pub const DELIVERY_DEADLINE: Duration = Duration::from_secs(30);

/// Ports and the shared password of the test servers.
#[derive(Debug, Clone)]
pub struct MailEnv {
    /// Plain IMAP.
    pub imap_port: u16,
    /// Plain SMTP.
    pub smtp_port: u16,
    /// Every user's password.
    pub password: String,
}

/// Reads the servers' coordinates from the environment.
pub fn mail_env() -> MailEnv {
    let read = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!(
                "{name} is not set: start the test mail servers first with \
                 `eval \"$(tests/setup/mail-servers.sh)\"`, or run ./tests/run-all.sh"
            )
        })
    };
    let port = |name: &str| read(name).parse::<u16>().expect("a port number");
    MailEnv {
        imap_port: port("INBOX_TEST_IMAP_PORT"),
        smtp_port: port("INBOX_TEST_SMTP_PORT"),
        password: read("INBOX_TEST_MAIL_PASSWORD"),
    }
}

/// A new address nobody used: `prefix-UUID@domain`.
pub fn fresh_address(prefix: &str, domain: &str) -> String {
    format!("{prefix}-{}@{domain}", uuid::Uuid::now_v7().simple())
}

/// The email channel of a gateway reading `clientele`'s `folder` over plain
/// IMAP and sending through the test Postfix, as `clientele`.
pub fn email_settings(env: &MailEnv, clientele: &str, folder: &str) -> EmailSettings {
    EmailSettings {
        mailboxes: vec![MailboxSettings {
            name: "clientele".to_owned(),
            imap_host: "127.0.0.1".to_owned(),
            imap_port: Some(env.imap_port),
            imap_security: TransportSecurity::Plain,
            tls_ca_file: None,
            username: clientele.to_owned(),
            password: Some(SecretString::from(env.password.clone())),
            auth: ImapAuthMethod::Login,
            access_token: None,
            folder: folder.to_owned(),
            after_processing: AfterProcessingSetting::Seen,
            move_to_folder: None,
            idle_enabled: true,
            idle_timeout_secs: 120,
            poll_interval_secs: 1,
            connect_timeout_secs: 10,
            command_timeout_secs: 20,
            fetch_timeout_secs: 60,
            fetch_batch_messages: 20,
        }],
        smtp: SmtpSettings {
            host: "127.0.0.1".to_owned(),
            port: Some(env.smtp_port),
            security: TransportSecurity::Plain,
            tls_ca_file: None,
            username: None,
            password: None,
            timeout_secs: 20,
            hello_name: Some("gateway.saintejulie.test".to_owned()),
        },
        from_address: EmailAddress::parse(clientele).expect("a valid address"),
        from_name: Some("Ville de Sainte-Julie".to_owned()),
        reply_to: None,
        own_addresses: vec![],
        max_attachment_bytes: 15 * 1024 * 1024,
        max_acks_per_sender_per_day: 3,
    }
}

/// A plain citizen email in French, CRLF line ends.
pub fn citizen_email(from: &str, to: &str, subject: &str, body: &str, extra: &str) -> Vec<u8> {
    let id = format!("<{}@poste.example.test>", uuid::Uuid::now_v7().simple());
    format!(
        "From: Citoyenne <{from}>\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: {id}\r\n\
         Date: Tue, 24 Nov 2026 10:00:00 -0500\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n{extra}\r\n{body}\r\n"
    )
    .into_bytes()
}

/// The Message-ID written by [`citizen_email`].
pub fn message_id_of(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let line = text
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))
        .expect("a Message-ID header");
    line["message-id:".len()..].trim().to_owned()
}

/// Sends raw bytes over SMTP with this envelope (`from` empty for a null
/// sender, as a bounce has).
pub async fn smtp_send(env: &MailEnv, from: &str, to: &str, raw: &[u8]) {
    let stream = TcpStream::connect(("127.0.0.1", env.smtp_port))
        .await
        .expect("connect to the test SMTP server");
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    async fn reply(
        lines: &mut tokio::io::Lines<BufReader<tokio::net::tcp::OwnedReadHalf>>,
    ) -> String {
        loop {
            let line = lines.next_line().await.expect("read").expect("a reply");
            if line.len() < 4 || line.as_bytes()[3] != b'-' {
                return line;
            }
        }
    }
    let expect = |code: &'static str, line: String| {
        assert!(
            line.starts_with(code),
            "SMTP answered {line:?}, expected {code}"
        );
    };
    expect("220", reply(&mut lines).await);
    for (command, code) in [
        ("EHLO tests.example.test".to_owned(), "250"),
        (format!("MAIL FROM:<{from}>"), "250"),
        (format!("RCPT TO:<{to}>"), "250"),
        ("DATA".to_owned(), "354"),
    ] {
        write
            .write_all(format!("{command}\r\n").as_bytes())
            .await
            .unwrap();
        expect(code, reply(&mut lines).await);
    }
    // Dot-stuffing: a line starting with "." gets another one.
    let mut data = Vec::with_capacity(raw.len() + 64);
    for line in raw.split_inclusive(|&b| b == b'\n') {
        if line.first() == Some(&b'.') {
            data.push(b'.');
        }
        data.extend_from_slice(line);
    }
    if !data.ends_with(b"\r\n") {
        data.extend_from_slice(b"\r\n");
    }
    data.extend_from_slice(b".\r\n");
    write.write_all(&data).await.unwrap();
    expect("250", reply(&mut lines).await);
    write.write_all(b"QUIT\r\n").await.unwrap();
}

/// A plain async-imap session, to check server state independently of the
/// code under test.
pub async fn raw_session(env: &MailEnv, user: &str) -> async_imap::Session<TcpStream> {
    let tcp = TcpStream::connect(("127.0.0.1", env.imap_port))
        .await
        .expect("connect to the test IMAP server");
    let mut client = async_imap::Client::new(tcp);
    client.read_response().await.unwrap();
    client
        .login(user, &env.password)
        .await
        .map_err(|(e, _)| e)
        .expect("log in to the test IMAP server")
}

/// Waits until `user`'s `folder` holds at least `count` messages.
pub async fn wait_for_messages(env: &MailEnv, user: &str, folder: &str, count: u32) {
    let started = Instant::now();
    loop {
        let mut session = raw_session(env, user).await;
        let exists = session.select(folder).await.map(|m| m.exists).unwrap_or(0);
        session.logout().await.ok();
        if exists >= count {
            return;
        }
        assert!(
            started.elapsed() < DELIVERY_DEADLINE,
            "{user} holds {exists} of {count} messages after {DELIVERY_DEADLINE:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every message in `user`'s INBOX, raw, in UID order.
pub async fn read_all(env: &MailEnv, user: &str) -> Vec<Vec<u8>> {
    let mut session = raw_session(env, user).await;
    session.select("INBOX").await.unwrap();
    let fetches: Vec<_> = session
        .uid_fetch("1:*", "(UID BODY.PEEK[])")
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let mut messages: Vec<(u32, Vec<u8>)> = fetches
        .iter()
        .filter_map(|f| Some((f.uid?, f.body()?.to_vec())))
        .collect();
    messages.sort_by_key(|(uid, _)| *uid);
    session.logout().await.ok();
    messages.into_iter().map(|(_, raw)| raw).collect()
}

/// How many messages of `user`'s `folder` carry `\Seen`, and how many there are.
pub async fn seen_count(env: &MailEnv, user: &str, folder: &str) -> (usize, usize) {
    let mut session = raw_session(env, user).await;
    session.select(folder).await.unwrap();
    let fetches: Vec<_> = session
        .uid_fetch("1:*", "FLAGS")
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let seen = fetches
        .iter()
        .filter(|f| f.flags().any(|flag| flag == Flag::Seen))
        .count();
    session.logout().await.ok();
    (seen, fetches.len())
}

/// Appends raw messages to `user`'s `folder` (created when missing).
pub async fn append_all(env: &MailEnv, user: &str, folder: &str, messages: &[Vec<u8>]) {
    let mut session = raw_session(env, user).await;
    if folder != "INBOX" {
        let _ = session.create(folder).await;
    }
    for raw in messages {
        session
            .append(folder, None, None, raw)
            .await
            .expect("APPEND a message");
    }
    session.logout().await.ok();
}

/// The value of header `name` in a raw message (first occurrence, unfolded).
pub fn header(raw: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(raw);
    let head = text.split("\r\n\r\n").next().unwrap_or("");
    let mut value: Option<String> = None;
    for line in head.split("\r\n") {
        if let Some(v) = value.as_mut() {
            if line.starts_with(' ') || line.starts_with('\t') {
                v.push(' ');
                v.push_str(line.trim());
                continue;
            }
            return value;
        }
        if let Some((key, rest)) = line.split_once(':') {
            if key.eq_ignore_ascii_case(name) {
                value = Some(rest.trim().to_owned());
            }
        }
    }
    value
}

/// A TCP proxy to `upstream` whose first connection carries only `budget`
/// bytes from the server before both sides are cut; later connections pass
/// everything. Returns its port.
pub async fn start_cutting_proxy(upstream: u16, budget: usize) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut first = true;
        while let Ok((client, _)) = listener.accept().await {
            let limit = if first { Some(budget) } else { None };
            first = false;
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                    return;
                };
                let (mut client_read, mut client_write) = client.into_split();
                let (mut server_read, mut server_write) = server.into_split();
                let upload = tokio::spawn(async move {
                    tokio::io::copy(&mut client_read, &mut server_write)
                        .await
                        .ok();
                });
                let mut passed = 0usize;
                let mut buffer = vec![0u8; 8192];
                loop {
                    let room = limit.map_or(buffer.len(), |l| (l - passed).min(buffer.len()));
                    if room == 0 {
                        break;
                    }
                    let n = match server_read.read(&mut buffer[..room]).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    if client_write.write_all(&buffer[..n]).await.is_err() {
                        break;
                    }
                    passed += n;
                }
                upload.abort();
            });
        }
    });
    port
}
