//! How PostgreSQL connections enter and leave a pool. A pool hands out a connection only after
//! checking that it still works; a `SELECT 1` before every piece of work is one more round trip
//! to the database (a search makes five or six), so a connection that finished a statement
//! without error in the last [`PgManager`]'s `trust_for` is handed out unchecked. Should the
//! database have gone away in that moment, the work that finds out fails once, the connection
//! is closed as it returns to the pool, and the next one is checked.

use std::time::{Duration, Instant};

use diesel::connection::{Connection, Instrumentation, InstrumentationEvent};
use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, ManageConnection};
use diesel::result::{DatabaseErrorKind, Error};

/// Opens PostgreSQL connections for a pool, and says whether a pooled one may be handed out.
pub struct PgManager {
    inner: ConnectionManager<PgConnection>,
    trust_for: Duration,
}

impl PgManager {
    /// Connections to `url`, handed out unchecked for `trust_for` after their last statement
    /// that succeeded (zero: always checked).
    pub(super) fn new(url: &str, trust_for: Duration) -> Self {
        PgManager {
            inner: ConnectionManager::new(url),
            trust_for,
        }
    }
}

impl ManageConnection for PgManager {
    type Connection = PgConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<PgConnection, Self::Error> {
        let mut conn = self.inner.connect()?;
        conn.set_instrumentation(Health {
            last_ok: Instant::now(),
            lost: false,
        });
        Ok(conn)
    }

    fn is_valid(&self, conn: &mut PgConnection) -> Result<(), Self::Error> {
        let recent = health(conn).is_some_and(|h| !h.lost && h.last_ok.elapsed() < self.trust_for);
        if recent {
            Ok(())
        } else {
            self.inner.is_valid(conn)
        }
    }

    fn has_broken(&self, conn: &mut PgConnection) -> bool {
        self.inner.has_broken(conn) || health(conn).is_some_and(|h| h.lost)
    }
}

/// What a connection's statements have told of it, kept as diesel reports each one.
struct Health {
    /// When a statement last finished without error.
    last_ok: Instant,
    /// Whether a statement found the connection closed (the server restarted, or ended it).
    lost: bool,
}

impl Instrumentation for Health {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::FinishQuery { error, .. } = event {
            match error {
                None => self.last_ok = Instant::now(),
                Some(Error::DatabaseError(
                    DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                    _,
                )) => self.lost = true,
                Some(_) => {}
            }
        }
    }
}

fn health(conn: &mut PgConnection) -> Option<&Health> {
    conn.instrumentation().downcast_ref::<Health>()
}
