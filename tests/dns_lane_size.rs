//! The DNS lane's size is configurable before its first use, fixed afterwards, and visible in the
//! statistics.

use tulip::dns::{self, Hints};
use tulip::BuildError;

#[test]
fn lane_size_is_set_before_first_use_only() {
    assert_eq!(dns::lane_size(), dns::DEFAULT_LANE_SIZE);
    assert!(matches!(dns::set_lane_size(0), Err(BuildError::InvalidConfig(_))));
    dns::set_lane_size(2).unwrap();
    assert_eq!(dns::lane_size(), 2);
    assert!(dns::stats().lane.is_none(), "the lane starts lazily");

    dns::getaddrinfo("localhost", 80, Hints::default()).wait().unwrap();
    let stats = dns::stats();
    assert_eq!(stats.lane.map(|l| l.max_workers), Some(2));
    assert_eq!(stats.lane_size, 2);
    assert!(matches!(dns::set_lane_size(8), Err(BuildError::InvalidConfig(_))));
    assert_eq!(dns::lane_size(), 2);
}
