//! Backups with the real command while participants are answering through the running service, then a
//! check of the copy and a restore into a fresh folder that holds every answer given before.

use std::process::{Command, Output};

use diesel::prelude::*;
use voices::db::schema::{answers, responses};
use voices::db::Db;

use crate::helpers::{spawn_app, Backend, TestApp};
use crate::responses::{answer_everything, sample_study, Participant};

fn voices(args: &[&str], database_url: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_voices"))
        .args(args)
        .env("VOICES_DATABASE_URL", database_url)
        .env("VOICES_LOG", "warn")
        .output()
        .expect("run voices")
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
