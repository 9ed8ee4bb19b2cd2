//! Backups with the real command while participants are answering through the running service, then a
//! check of the copy and a restore into a fresh folder that holds every answer given before.

use std::process::Output;

use diesel::prelude::*;
use voices::db::schema::{answers, responses};
use voices::db::Db;

use crate::helpers::{spawn_app, Backend, TestApp};
use crate::responses::{answer_everything, sample_study, Participant};

fn voices(args: &[&str], database_url: &str) -> Output {
    voices_with_input(args, database_url, "")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).to_string()
}

/// Every answer of every sent response: (response, question, value).
async fn sent_answers(db: &Db) -> Vec<(i64, i64, String)> {
    db.read(|conn| {
        answers::table
            .inner_join(responses::table)
            .filter(responses::submitted_at.is_not_null())
            .order((answers::response_id, answers::question_id))
            .select((answers::response_id, answers::question_id, answers::value))
            .load(conn)
            .map_err(voices::error::AppError::from)
    })
    .await
    .unwrap()
}

async fn someone_answers(app: &TestApp, study: i64, questionnaire: i64) {
    let person = Participant::join(app, study, questionnaire, "staff").await;
    person.consent().await;
    answer_everything(&person).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_people_answer_restores_every_answer() {
    let app = spawn_app(Backend::Sqlite).await;
    let (study, questionnaire, _) = sample_study(&app).await;
    for _ in 0..3 {
        someone_answers(&app, study, questionnaire).await;
    }
    let before = sent_answers(&app.db).await;
    assert!(!before.is_empty());

    let folder = tempfile::tempdir().unwrap();
    let copy = folder.path().join("voices-backup.db");
    let live = app.settings.database_url.clone();
    let (backup, copy_path) = (
        {
            let (copy, live) = (copy.clone(), live.clone());
            tokio::task::spawn_blocking(move || {
                voices(&["backup", "--to", copy.to_str().unwrap()], &live)
            })
        },
        copy.clone(),
    );
    // Three more people answer while the copy is made.
    for _ in 0..3 {
        someone_answers(&app, study, questionnaire).await;
    }
    let made = backup.await.unwrap();
    assert!(made.status.success(), "{}", text(&made.stderr));
    let said = text(&made.stdout);
    assert!(
        said.contains("integrity: ok") && said.contains("answers: "),
        "{said}"
    );

    let checked = voices(&["backup", "--verify", copy_path.to_str().unwrap()], &live);
    assert!(checked.status.success(), "{}", text(&checked.stderr));
    assert!(text(&checked.stdout).contains("is a good backup"));

    let into = folder.path().join("restored");
    let restored = voices(
        &[
            "restore",
            "--from",
            copy_path.to_str().unwrap(),
            "--into",
            into.to_str().unwrap(),
        ],
        &live,
    );
    assert!(restored.status.success(), "{}", text(&restored.stderr));
    let restored_file = into.join("voices.db");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&restored_file)
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "the restored database is private");
    }
    let restored_db = Db::connect(&format!("sqlite://{}", restored_file.display()), 1).unwrap();
    restored_db.migrate().unwrap();
    let after = sent_answers(&restored_db).await;
    for answer in &before {
        assert!(after.contains(answer), "{answer:?} is in the restored copy");
    }

    // Restoring over a database is refused; a damaged copy is found out.
    let again = voices(
        &[
            "restore",
            "--from",
            copy_path.to_str().unwrap(),
            "--into",
            into.to_str().unwrap(),
        ],
        &live,
    );
    assert!(!again.status.success());
    assert!(text(&again.stderr).contains("exists already"));
    let damaged = folder.path().join("damaged.db");
    let mut bytes = std::fs::read(&copy_path).unwrap();
    let half = bytes.len() / 2;
    for byte in &mut bytes[half..half + 4096] {
        *byte = 0x5a;
    }
    std::fs::write(&damaged, bytes).unwrap();
    let checked = voices(&["backup", "--verify", damaged.to_str().unwrap()], &live);
    assert!(!checked.status.success(), "{}", text(&checked.stdout));
    let not_a_backup = folder.path().join("notes.txt");
    std::fs::write(&not_a_backup, "hello").unwrap();
    let checked = voices(
        &["backup", "--verify", not_a_backup.to_str().unwrap()],
        &live,
    );
    assert!(text(&checked.stderr).contains("neither a Voices SQLite backup"));
}

/// On PostgreSQL the copy is pg_dump's custom format, checked with pg_restore.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_backup_is_a_checked_pg_dump() {
    let Some(app) = crate::helpers::spawn_postgres_app(|_| {}).await else {
        return;
    };
    let (study, questionnaire, _) = sample_study(&app).await;
    someone_answers(&app, study, questionnaire).await;
    let folder = tempfile::tempdir().unwrap();
    let copy = folder.path().join("voices.dump");
    let live = app.settings.database_url.clone();
    let target = copy.clone();
    let made = tokio::task::spawn_blocking(move || {
        voices(&["backup", "--to", target.to_str().unwrap()], &live)
    })
    .await
    .unwrap();
    assert!(made.status.success(), "{}", text(&made.stderr));
    assert!(text(&made.stdout).contains("tables with data"));
    let restore = voices(
        &[
            "restore",
            "--from",
            copy.to_str().unwrap(),
            "--into",
            "unused",
        ],
        &app.settings.database_url,
    );
    assert!(text(&restore.stderr).contains("pg_restore --no-owner --dbname="));
}

fn voices_with_input(args: &[&str], database_url: &str, input: &str) -> Output {
    crate::cli::run_voices(args, input, &[("VOICES_DATABASE_URL", database_url)])
}

/// A backup encrypted to an age public key opens only with its private key (kept off the server), and
/// one encrypted with a passphrase only with the passphrase; both restore every answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_encrypted_backup_opens_only_with_its_key() {
    use age::secrecy::ExposeSecret;
    let app = spawn_app(Backend::Sqlite).await;
    let (study, questionnaire, _) = sample_study(&app).await;
    someone_answers(&app, study, questionnaire).await;
    let before = sent_answers(&app.db).await;
    let live = app.settings.database_url.clone();
    let folder = tempfile::tempdir().unwrap();
    let key = age::x25519::Identity::generate();
    let key_file = folder.path().join("backup-key.txt");
    std::fs::write(&key_file, key.to_string().expose_secret()).unwrap();
    let public = key.to_public().to_string();

    let copy = folder.path().join("voices.db.age");
    let made = voices(
        &[
            "backup",
            "--to",
            copy.to_str().unwrap(),
            "--recipient",
            &public,
        ],
        &live,
    );
    assert!(made.status.success(), "{}", text(&made.stderr));
    let bytes = std::fs::read(&copy).unwrap();
    assert!(bytes.starts_with(b"age-encryption.org/v1"));
    for plain in [
        &b"SQLite format 3"[..],
        b"improvement project",
        b"lead@example.org",
    ] {
        assert!(
            !bytes.windows(plain.len()).any(|w| w == plain),
            "nothing readable in the encrypted file"
        );
    }

    let unopened = voices(&["backup", "--verify", copy.to_str().unwrap()], &live);
    assert!(!unopened.status.success());
    assert!(
        text(&unopened.stderr).contains("is encrypted"),
        "{}",
        text(&unopened.stderr)
    );
    let wrong_key = folder.path().join("other-key.txt");
    let other = age::x25519::Identity::generate();
    std::fs::write(&wrong_key, other.to_string().expose_secret()).unwrap();
    let refused = voices(
        &[
            "backup",
            "--verify",
            copy.to_str().unwrap(),
            "--identity",
            wrong_key.to_str().unwrap(),
        ],
        &live,
    );
    assert!(
        text(&refused.stderr).contains("does not open"),
        "{}",
        text(&refused.stderr)
    );
    let checked = voices(
        &[
            "backup",
            "--verify",
            copy.to_str().unwrap(),
            "--identity",
            key_file.to_str().unwrap(),
        ],
        &live,
    );
    assert!(checked.status.success(), "{}", text(&checked.stderr));
    let into = folder.path().join("restored");
    let restored = voices(
        &[
            "restore",
            "--from",
            copy.to_str().unwrap(),
            "--into",
            into.to_str().unwrap(),
            "--identity",
            key_file.to_str().unwrap(),
        ],
        &live,
    );
    assert!(restored.status.success(), "{}", text(&restored.stderr));
    let restored_db =
        Db::connect(&format!("sqlite://{}", into.join("voices.db").display()), 1).unwrap();
    assert_eq!(sent_answers(&restored_db).await, before);

    let sealed = folder.path().join("passphrase.db.age");
    let passphrase = "correct horse battery staple\n";
    let made = voices_with_input(
        &["backup", "--to", sealed.to_str().unwrap(), "--passphrase"],
        &live,
        passphrase,
    );
    assert!(made.status.success(), "{}", text(&made.stderr));
    let wrong = voices_with_input(
        &[
            "backup",
            "--verify",
            sealed.to_str().unwrap(),
            "--passphrase",
        ],
        &live,
        "not the passphrase at all\n",
    );
    assert!(!wrong.status.success());
    let checked = voices_with_input(
        &[
            "backup",
            "--verify",
            sealed.to_str().unwrap(),
            "--passphrase",
        ],
        &live,
        passphrase,
    );
    assert!(checked.status.success(), "{}", text(&checked.stderr));
}

/// With `backup.every_hours` set the running service backs itself up (encrypted to the configured
/// key), records it in the audit log, and keeps the newest `backup.keep`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_backs_itself_up_on_a_schedule_and_keeps_the_newest() {
    let folder = tempfile::tempdir().unwrap();
    let key = age::x25519::Identity::generate();
    let public = key.to_public().to_string();
    let backups = folder.path().join("backups");
    let app = crate::helpers::spawn_with(Backend::Sqlite, |s| {
        s.backup.every_hours = 24;
        s.backup.keep = 2;
        s.backup.folder = backups.to_string_lossy().to_string();
        s.backup.recipient = public.clone();
    })
    .await;
    // No backup in the folder yet: the first is due at once.
    let mut found = Vec::new();
    for _ in 0..100 {
        found = std::fs::read_dir(&backups)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().to_string())
            .collect();
        if !found.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("voices-backup-") && found[0].ends_with(".db.age"),
        "{found:?}"
    );
    let mut recorded = false;
    for _ in 0..50 {
        let events: Vec<String> = app
            .db
            .read(|conn| {
                use voices::db::schema::audit_events;
                audit_events::table
                    .select(audit_events::action)
                    .load(conn)
                    .map_err(voices::error::AppError::from)
            })
            .await
            .unwrap();
        if events.iter().any(|a| a == "backup_taken") {
            recorded = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(recorded, "the backup is in the audit log");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&backups).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "the backup folder is private");
    }

    for _ in 0..3 {
        // Names carry the second they were taken.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let settings = app.settings.clone();
        tokio::task::spawn_blocking(move || voices::operations::backup::take_scheduled(&settings))
            .await
            .unwrap()
            .unwrap();
    }
    let mut kept: Vec<String> = std::fs::read_dir(&backups)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    kept.sort();
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(!kept.contains(&found[0]), "the oldest went first");
}
