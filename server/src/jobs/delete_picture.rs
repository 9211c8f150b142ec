//! The delete job: removes every stored object of a picture (its metadata is already
//! gone when this runs).

use apalis::prelude::*;

use super::{DeletePicture, JobContext};

/// Removes the objects of `job.picture_id`.
pub async fn delete_picture(
    job: DeletePicture,
    context: Data<JobContext>,
) -> Result<(), BoxDynError> {
    context.objects.delete_picture(&job.picture_id).await?;
    tracing::info!(picture = %job.picture_id, "deleted stored objects");
    Ok(())
}
