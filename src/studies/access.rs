//! Who may see and do what in a study. Someone who is not a member gets 404, as if the study did not
//! exist; a member without the needed role gets 403.

use super::queries::{self, Member, Study};
use super::rules::{StudyRole, View};
use crate::db::Db;
use crate::error::AppError;
use crate::web::CurrentUser;

pub struct StudyAccess {
    pub study: Study,
    pub me: Member,
}

impl StudyAccess {
    pub async fn open(db: &Db, user: &CurrentUser, study_id: i64) -> Result<Self, AppError> {
        let user_id = user.id;
        let (study, me) = db
            .read(move |conn| queries::membership(conn, study_id, user_id).map_err(AppError::from))
            .await?
            .ok_or(AppError::NotFound)?;
        Ok(StudyAccess { study, me })
    }

    /// What this member may read of the study's figures (`Roles::view`).
    pub fn view(&self) -> View {
        self.me.roles.view(
            self.study.analysts_see_participants,
            self.study.small_count_threshold,
        )
    }

    /// Opens the study and checks that the person holds one of these roles.
    pub async fn with_role(
        db: &Db,
        user: &CurrentUser,
        study_id: i64,
        any_of: &[StudyRole],
    ) -> Result<Self, AppError> {
        let access = Self::open(db, user, study_id).await?;
        if any_of.iter().any(|role| access.me.roles.has(*role)) {
            Ok(access)
        } else {
            Err(AppError::Forbidden)
        }
    }
}
