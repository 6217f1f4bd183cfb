//! How every cloud starts a create and finds what to delete: resume the
//! recorded id, or adopt what an earlier run created without recording it.

use std::future::Future;

use super::{ProviderError, RecordCreated, Start};

/// The id a create starts from: the recorded one when resuming; when
/// adopting, the one `find` turns up (recorded at once), if any; else none.
pub async fn starting_id(
    start: Start<'_>,
    find: impl Future<Output = Result<Option<String>, ProviderError>>,
    record: RecordCreated<'_>,
) -> Result<Option<String>, ProviderError> {
    match start {
        Start::Resume(id) => Ok(Some(id.to_owned())),
        Start::Fresh => Ok(None),
        Start::Adopt => {
            let found = find.await?;
            if let Some(id) = &found {
                record(id.clone()).await?;
            }
            Ok(found)
        }
    }
}

/// The id to delete: the recorded one, else the one `find` turns up (a
/// create that never recorded its id); none when there is nothing.
pub async fn id_to_delete(
    id: Option<&str>,
    find: impl Future<Output = Result<Option<String>, ProviderError>>,
) -> Result<Option<String>, ProviderError> {
    match id {
        Some(id) => Ok(Some(id.to_owned())),
        None => find.await,
    }
}
