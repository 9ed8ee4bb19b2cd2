//! Writes made at the same moment: on SQLite they share commits (`db::commit`), and each must still be
//! kept or undone on its own, exactly as if it had committed alone.

use diesel::sql_types::{BigInt, Text};
use diesel::RunQueryDsl;
use voices::db::DbConnection;
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

fn insert(conn: &mut DbConnection, n: i64, label: &str) -> diesel::QueryResult<usize> {
    diesel::sql_query("INSERT INTO writes_together (n, label) VALUES ($1, $2)")
        .bind::<BigInt, _>(n)
        .bind::<Text, _>(label)
        .execute(conn)
}

/// The scratch table, with one row whose label the refused writes try to take again.
async fn create_table(app: &TestApp) {
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
}

/// Writes 0..WRITES all at once, each with its own `Db::write`, and what each was answered.
async fn all_at_once(
    app: &TestApp,
    write: fn(&mut DbConnection, i64) -> Result<i64, AppError>,
) -> Vec<(i64, Result<i64, AppError>)> {
    let writes = (0..WRITES).map(|n| {
        let db = app.db.clone();
        tokio::spawn(async move { (n, db.write(move |conn| write(conn, n)).await) })
    });
    let answered = futures_util::future::join_all(writes).await;
    // Writes answered by another caller's group stop waiting for their own turn half-way.
    assert_eq!(
        app.db.stats().waiting,
        0,
        "callers still counted as waiting"
    );
    answered.into_iter().map(Result::unwrap).collect()
}

/// The numbers of the rows written (not the one made with the table).
async fn stored(app: &TestApp) -> Vec<i64> {
    #[derive(diesel::QueryableByName)]
    struct Stored {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    app.db
        .read(|conn| {
            diesel::sql_query("SELECT n FROM writes_together WHERE n >= 0 ORDER BY n")
                .load::<Stored>(conn)
                .map_err(AppError::from)
        })
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.n)
        .collect()
}

async fn concurrent_writes_are_each_kept_or_undone_alone(app: TestApp) {
    create_table(&app).await;
    let answered = all_at_once(&app, |conn, n| {
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
    for (n, result) in answered {
        match (planned(n), result) {
            (Outcome::Kept, Ok(got)) => assert_eq!(got, n),
            (Outcome::Undone, Err(AppError::Invalid(_))) => {}
            (Outcome::Refused, Err(AppError::Internal(_))) => {}
            (planned, other) => panic!("write {n}: planned {planned:?}, got {other:?}"),
        }
    }
    let expected: Vec<i64> = (0..WRITES)
        .filter(|n| planned(*n) == Outcome::Kept)
        .collect();
    assert_eq!(stored(&app).await, expected);
}

/// A write failing in the database itself (here a statement on a table that does not exist, as a full
/// disk would fail) stops its SQLite group, and nothing of the group is kept: every write is then
/// either acknowledged and stored, or refused and absent.
async fn a_write_failing_in_the_database_takes_no_acknowledged_write_with_it(app: TestApp) {
    create_table(&app).await;
    let answered = all_at_once(&app, |conn, n| {
        insert(conn, n, &format!("row {n}"))?;
        if n % 25 == 5 {
            diesel::sql_query("UPDATE no_such_table SET x = 1").execute(conn)?;
        }
        Ok(n)
    })
    .await;
    let mut acknowledged = Vec::new();
    for (n, result) in answered {
        match result {
            Ok(_) => {
                assert_ne!(
                    n % 25,
                    5,
                    "write {n} failed in the database yet was acknowledged"
                );
                acknowledged.push(n);
            }
            // Its own failure is a fault (500); the writes that shared its commit, or came after it
            // and did not run, are told to send again (503, the form given back).
            Err(AppError::Internal(_)) if n % 25 == 5 => {}
            Err(AppError::Unavailable(_)) => {}
            other => panic!("write {n}: {other:?}"),
        }
    }
    acknowledged.sort_unstable();
    assert_eq!(
        stored(&app).await,
        acknowledged,
        "stored exactly what was acknowledged"
    );
}

crate::on_both_databases!(
    concurrent_writes_are_each_kept_or_undone_alone,
    a_write_failing_in_the_database_takes_no_acknowledged_write_with_it
);
