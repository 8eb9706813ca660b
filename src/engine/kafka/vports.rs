//! Where each Kafka instance's broker listens: the `vport` the management APIs answer (Tencent
//! `vip`/`vport`, Alibaba `EndPoint`), stored with the instance so it is the same after a restart with
//! `--data-dir`.
//!
//! Every instance owns a block of [`STEP`] ports from its vport: the PLAINTEXT access point on the vport,
//! SASL_SSL on vport + 1 (Alibaba's `SslEndPoint`), SASL_PLAINTEXT on vport + 2 (see
//! `crate::kafka::Security`). The default account's default Tencent instance of ap-guangzhou keeps
//! [`DEFAULT`] (127.0.0.1:9092, the address of the README's examples); every other instance gets, when it
//! is created (defaults at start-up in the vendors' region order, then fixtures, then API creations), the
//! lowest block from [`FIRST_ALLOCATED`] that no existing instance holds: 9102, 9112, 9122, ...

/// The vport of the default account's default CKafka instance in ap-guangzhou.
pub const DEFAULT: u16 = 9092;
/// The first vport handed out to other instances.
pub const FIRST_ALLOCATED: u16 = 9102;
/// Ports per instance (three are used; the rest leave room for more access points).
pub const STEP: u16 = 10;

/// The lowest allocatable vport whose block no used vport falls in; [`DEFAULT`] (shared, so only one of
/// the instances on it is reachable) when all 5,643 blocks are taken.
pub fn first_free(used: &[u16]) -> u16 {
    let blocks: std::collections::HashSet<u16> =
        used.iter().filter(|p| **p >= FIRST_ALLOCATED).map(|p| (p - FIRST_ALLOCATED) / STEP).collect();
    (0..)
        .map(|k: u32| u32::from(FIRST_ALLOCATED) + k * u32::from(STEP))
        .take_while(|p| p + u32::from(STEP) - 1 <= u32::from(u16::MAX))
        .find(|p| !blocks.contains(&(((*p as u16) - FIRST_ALLOCATED) / STEP)))
        .map_or(DEFAULT, |p| p as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_handed_out_lowest_first_and_reused() {
        assert_eq!(first_free(&[]), 9102);
        assert_eq!(first_free(&[9092, 9092]), 9102);
        assert_eq!(first_free(&[9102]), 9112);
        assert_eq!(first_free(&[9112, 9102]), 9122);
        assert_eq!(first_free(&[9102, 9122]), 9112, "a freed block is reused");
        assert_eq!(first_free(&[9105]), 9112, "an off-grid vport blocks its block");
        assert_eq!(first_free(&[9102, 9115]), 9122);
        let all: Vec<u16> = (0u32..)
            .map(|k| u32::from(FIRST_ALLOCATED) + k * u32::from(STEP))
            .take_while(|p| p + u32::from(STEP) - 1 <= 65_535)
            .map(|p| p as u16)
            .collect();
        assert_eq!(all.len(), 5_643);
        assert_eq!(first_free(&all[1..]), FIRST_ALLOCATED);
        assert_eq!(first_free(&all), DEFAULT);
    }
}
