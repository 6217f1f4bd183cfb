//! `privlink import`: adopts an object that already exists in Atlas or AWS
//! into the state; one that another privlink state owns only with `--force`.

use crate::model::Address;
use crate::output::Output;
use crate::settings::Settings;

use super::common::{clouds, load_config, lock_state};
use super::{CommandError, Outcome};

/// Looks `id` up for `address`, records it in the state and says so; an
/// object another privlink state owns only with `force`.
pub async fn run(
    settings: &Settings,
    out: &Output,
    address: String,
    id: &str,
    force: bool,
) -> Result<Outcome, CommandError> {
    let (config, desired) = load_config(settings)?;
    let (mut store, mut state) = lock_state(settings, &config.stack, "import", out).await?;
    let clouds = clouds(settings)?;
    let address = Address::new(address);
    crate::import::import(clouds.as_ref(), &desired, &mut state, &address, id, force).await?;
    store.write(&mut state).await?;
    store.close().await?;
    out.imported(id, &address);
    Ok(Outcome::Done)
}
