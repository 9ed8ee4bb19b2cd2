//! Writes made at the same moment: on SQLite they share commits (`db::commit`), and each must still be
//! kept or undone on its own, exactly as if it had committed alone.

use diesel::sql_types::{BigInt, Text};
use diesel::RunQueryDsl;
use voices::error::AppError;

use crate::helpers::TestApp;

const WRITES: i64 = 300;

#[derive(Debug, PartialEq)]
enum Outcome {
    Kept,
    /// The work returned an error of its own after writing: its row must be gone.
    Undone,
    /// A constraint refused its row: the writes beside it stand.
    Refused,
}

fn planned(n: i64) -> Outcome {
    match n % 10 {
        3 => Outcome::Undone,
        7 => Outcome::Refused,
        _ => Outcome::Kept,
    }
}

fn insert(conn: &mut voices::db::DbConnection, n: i64, label: &str) -> diesel::QueryResult<usize> {
    diesel::sql_query("INSERT INTO writes_together (n, label) VALUES ($1, $2)")
        .bind::<BigInt, _>(n)
        .bind::<Text, _>(label)
        .execute(conn)
}

async fn concurrent_writes_are_each_kept_or_undone_alone(app: TestApp) {
    app.db
        .write(|conn| {
            diesel::sql_query(
                "CREATE TABLE writes_together (n BIGINT PRIMARY KEY, label TEXT NOT NULL UNIQUE)",
            )
            .execute(conn)?;
            insert(conn, -1, "taken").map_err(AppError::from)
        })
        .await
        .unwrap();

    let writes = (0..WRITES).map(|n| {
        let db = app.db.clone();
        tokio::spawn(async move {
            let result = db
                .write(move |conn| {
                    let label = match planned(n) {
                        Outcome::Refused => "taken".to_string(),
                        _ => format!("row {n}"),
                    };
                    insert(conn, n, &label)?;
                    if planned(n) == Outcome::Undone {
                        return Err(AppError::invalid("n", "changed its mind"));
                    }
                    Ok(n)
                })
                .await;
            (n, result)
        })
    });
    let results = futures_util::future::join_all(writes).await;
    // Writes answered by another caller's group stop waiting for their own turn half-way.
    assert_eq!(
        app.db.stats().waiting,
        0,
        "callers still counted as waiting"
    );

    for joined in results {
        let (n, result) = joined.unwrap();
        match (planned(n), result) {
            (Outcome::Kept, Ok(got)) => assert_eq!(got, n),
            (Outcome::Undone, Err(AppError::Invalid(_))) => {}
            (Outcome::Refused, Err(AppError::Internal(_))) => {}
            (planned, other) => panic!("write {n}: planned {planned:?}, got {other:?}"),
        }
    }
    #[derive(diesel::QueryableByName)]
    struct Kept {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let kept: Vec<i64> = app
        .db
        .read(|conn| {
            diesel::sql_query("SELECT n FROM writes_together WHERE n >= 0 ORDER BY n")
                .load::<Kept>(conn)
                .map_err(AppError::from)
        })
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.n)
        .collect();
    let expected: Vec<i64> = (0..WRITES)
        .filter(|n| planned(*n) == Outcome::Kept)
        .collect();
    assert_eq!(kept, expected);
}

crate::on_both_databases!(concurrent_writes_are_each_kept_or_undone_alone);
