//! Deterministic groups: seeded interleavings that replay exactly, virtual
//! time, and a real check-then-act race found and replayed.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use isolate_core::deterministic::{self, DriveError};
use isolate_core::prelude::*;

/// An account that refuses to go below zero.
#[isolate]
#[derive(Default)]
struct Account {
    balance: i64,
}

#[isolate]
impl Account {
    #[message]
    fn deposit(&mut self, amount: i64) {
        self.balance += amount;
    }

    #[message]
    fn balance(&self) -> i64 {
        self.balance
    }

    /// The bug's second half: takes the money without looking again.
    #[message]
    fn withdraw(&mut self, amount: i64) -> i64 {
        self.balance -= amount;
        self.balance
    }

    /// The fix: the check and the act in one message.
    #[message]
    fn withdraw_if_covered(&mut self, amount: i64) -> bool {
        let covered = self.balance >= amount;
        if covered {
            self.balance -= amount;
        }
        covered
    }
}

/// A buyer with the classic bug: it asks the balance, then withdraws in a
/// second message, so another buyer can withdraw in between.
#[isolate]
struct Buyer {
    account: AccountPort,
}

#[isolate]
impl Buyer {
    #[message]
    async fn buy(&mut self, price: i64) -> bool {
        let balance = self.account.balance().await.unwrap();
        if balance < price {
            return false;
        }
        self.account.withdraw(price).await.unwrap();
        true
    }

    #[message]
    async fn buy_safely(&mut self, price: i64) -> bool {
        self.account.withdraw_if_covered(price).await.unwrap()
    }
}

/// Two buyers, money for one purchase. Returns the final balance.
async fn two_buyers(group: IsolateGroup, safely: bool) -> i64 {
    let account = group.spawn(Account::default());
    account.deposit(100).unwrap();
    let buyers: Vec<_> = (0..2)
        .map(|_| {
            group.spawn(Buyer {
                account: account.clone(),
            })
        })
        .collect();
    let purchases: Vec<_> = buyers
        .iter()
        .map(|buyer| {
            if safely {
                buyer.buy_safely(100)
            } else {
                buyer.buy(100)
            }
        })
        .collect();
    for purchase in purchases {
        purchase.await.unwrap();
    }
    account.balance().await.unwrap()
}

/// The seeds, in 0..100, for which the buggy buyers overdraw.
fn overdrawing_seeds() -> Vec<u64> {
    (0..100)
        .filter(|&seed| {
            let group = IsolateGroup::deterministic(seed);
            group.block_on(two_buyers(group.clone(), false)).unwrap() < 0
        })
        .collect()
}

#[test]
fn check_finds_the_check_then_act_race_within_a_hundred_seeds() {
    let failure = catch_unwind(AssertUnwindSafe(|| {
        deterministic::check(0..100, |group| async move {
            let balance = two_buyers(group, false).await;
            assert!(balance >= 0, "overdrawn: {balance}");
        });
    }));
    let message = failure.expect_err("some interleaving overdraws");
    let message = message
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(message.starts_with("overdrawn: -100"), "{message}");
}

#[test]
fn a_seed_replays_the_same_interleaving_every_time() {
    let first = overdrawing_seeds();
    assert!(!first.is_empty(), "the race shows within 100 seeds");
    assert!(first.len() < 100, "and not in every interleaving");
    // The same seeds, the same outcomes: each one replays exactly.
    assert_eq!(overdrawing_seeds(), first);
    let seed = first[0];
    for _ in 0..5 {
        let group = IsolateGroup::deterministic(seed);
        assert_eq!(group.block_on(two_buyers(group.clone(), false)), Ok(-100));
    }
}

#[test]
fn the_fixed_buyers_never_overdraw_in_any_seed() {
    deterministic::check(0..200, |group| async move {
        assert_eq!(two_buyers(group, true).await, 0);
    });
}

#[test]
fn virtual_time_jumps_to_the_next_timer_in_order() {
    deterministic::check(0..20, |group| async move {
        let mut inbox = ReceivePort::new();
        let port = inbox.send_port();
        // An hour and a day of virtual time: the test takes no time at all.
        group.send_after(&port, Duration::from_secs(86_400), "a day");
        group.send_after(&port, Duration::from_secs(3_600), "an hour");
        drop(port);
        assert_eq!(inbox.recv_async().await, Ok("an hour"));
        assert_eq!(inbox.recv_async().await, Ok("a day"));
    });
}

#[test]
fn a_deadlock_is_reported_with_its_seed_instead_of_hanging() {
    let group = IsolateGroup::deterministic(3);
    let mut never = ReceivePort::<u8>::new();
    let _keep = never.send_port();
    let stalled = group.block_on(async { never.recv_async().await });
    assert!(
        matches!(stalled, Err(DriveError::Stalled { seed: 3, .. })),
        "{stalled:?}"
    );
}

#[test]
fn blocking_waits_are_refused_while_driven() {
    let group = IsolateGroup::deterministic(1);
    let account = group.spawn(Account::default());
    let refused = group.block_on(async { account.balance().wait() }).unwrap();
    assert_eq!(refused.unwrap_err(), ReplyError::BlockingInIsolate);
    // Awaited, the same ask is answered.
    assert_eq!(group.block_on(account.balance()), Ok(Ok(0)));
}

#[test]
fn block_on_is_refused_where_it_cannot_drive() {
    let threaded = IsolateGroup::builder().workers(1).build().unwrap();
    assert_eq!(
        threaded.block_on(async {}),
        Err(DriveError::NotDeterministic)
    );
    let group = IsolateGroup::deterministic(0);
    let elsewhere = group.clone();
    let refused = std::thread::spawn(move || elsewhere.block_on(async {}))
        .join()
        .unwrap();
    assert_eq!(refused, Err(DriveError::WrongThread));
    assert_eq!(group.seed(), Some(0));
    assert_eq!(threaded.seed(), None);
}

#[test]
fn pinned_isolates_and_current_work_in_a_deterministic_group() {
    use std::rc::Rc;

    #[isolate(pinned)]
    struct Local {
        count: Rc<std::cell::Cell<u32>>,
    }

    #[isolate(pinned)]
    impl Local {
        #[message]
        fn bump(&mut self) -> u32 {
            self.count.set(self.count.get() + 1);
            self.count.get()
        }

        /// Spawns a sibling through `IsolateGroup::current()`.
        #[message]
        fn sibling_count(&mut self) -> Option<usize> {
            IsolateGroup::current().map(|group| group.len())
        }
    }

    deterministic::check(0..10, |group| async move {
        let local = group.spawn_pinned(
            |()| Local {
                count: Rc::default(),
            },
            (),
        );
        assert_eq!(local.bump().await, Ok(1));
        assert_eq!(local.bump().await, Ok(2));
        assert_eq!(local.sibling_count().await, Ok(Some(1)));
    });
}

#[test]
fn block_on_twice_loses_no_isolate_that_was_ready_when_the_first_ended() {
    for seed in 0..100 {
        let group = IsolateGroup::deterministic(seed);
        let a = group.spawn(Account::default());
        let b = group.spawn(Account::default());
        group
            .block_on(async {
                a.deposit(1).unwrap();
                b.balance().await.unwrap()
            })
            .unwrap();
        // `a` may not have run yet: the second drive must still run it.
        assert_eq!(group.block_on(a.balance()), Ok(Ok(1)), "seed {seed}");
    }
}

#[test]
fn an_interval_ticking_into_a_deadlock_is_reported_as_stalled() {
    let group = IsolateGroup::deterministic(5);
    let ticks = ReceivePort::<()>::new();
    let _interval = group.send_interval(&ticks.send_port(), Duration::from_millis(1), ());
    let mut never = ReceivePort::<u8>::new();
    let _keep = never.send_port();
    let stalled = group.block_on(async { never.recv_async().await });
    assert!(
        matches!(stalled, Err(DriveError::Stalled { seed: 5, .. })),
        "{stalled:?}"
    );
}

#[test]
fn a_drive_nested_in_another_restores_the_outer_group() {
    let outer = IsolateGroup::deterministic(1);
    let inner = IsolateGroup::deterministic(2);
    let seeds = outer
        .block_on(async {
            let before = IsolateGroup::current().and_then(|group| group.seed());
            let nested = inner.block_on(async { IsolateGroup::current().and_then(|g| g.seed()) });
            let after = IsolateGroup::current().and_then(|group| group.seed());
            (before, nested, after)
        })
        .unwrap();
    assert_eq!(seeds, (Some(1), Ok(Some(2)), Some(1)));
}
