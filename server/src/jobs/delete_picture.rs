//! The delete job: removes every stored object of a picture (its metadata is already
//! gone when this runs).

use apalis::prelude::*;
use tracing::Instrument;

use super::{DeletePicture, JobContext};
use crate::metrics::{JobKind, JobOutcome};

/// Removes the objects of `job.picture_id`.
pub async fn delete_picture(
    job: DeletePicture,
    context: Data<JobContext>,
    task: TaskId,
) -> Result<(), BoxDynError> {
    let span = tracing::info_span!("job", job = %task, kind = JobKind::DeletePicture.name(), picture = %job.picture_id);
    let result = async {
        context.objects.delete_picture(&job.picture_id).await?;
        tracing::info!("deleted stored objects");
        Ok::<(), BoxDynError>(())
    }
    .instrument(span)
    .await;
    let outcome = if result.is_ok() {
        JobOutcome::Done
    } else {
        JobOutcome::Failed
    };
    context.metrics.job(JobKind::DeletePicture, outcome);
    result
}
