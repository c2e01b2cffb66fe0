//! How many workers take requests at once. Serving wants a few busy threads (each with its own
//! PostgreSQL connection warm), not many: under W1 on two cores, 8 workers answered 1.4x the
//! requests of 32 with a third of the p99. But a worker waiting for a password hash serves nobody,
//! and a line of sign-ins may hold dozens; each such wait (`aside`) lets one more worker take
//! requests, so the pool is sized for the waits and the serving set for the cores.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

pub struct Gate {
    state: Mutex<State>,
    opened: Condvar,
    serving_max: usize,
}

struct State {
    /// Workers holding a place: waiting for readiness, serving, or waiting aside.
    holding: usize,
    aside: usize,
}

thread_local! {
    static MINE: RefCell<Option<Arc<Gate>>> = const { RefCell::new(None) };
}

impl Gate {
    pub fn new(serving_max: usize) -> Gate {
        Gate {
            state: Mutex::new(State {
                holding: 0,
                aside: 0,
            }),
            opened: Condvar::new(),
            serving_max: serving_max.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// This thread is one of the gate's workers (`aside` finds the gate through it).
    pub fn join(self: &Arc<Gate>) {
        MINE.with(|m| *m.borrow_mut() = Some(Arc::clone(self)));
    }

    /// Before each wait for readiness: keeps this worker's place, or gives it up and waits for
    /// one while more workers hold places than may serve. Returns false once `exit` is set.
    pub fn take_place(&self, held: &mut bool, exit: &AtomicBool) -> bool {
        let mut state = self.lock();
        if *held && state.holding > self.serving_max + state.aside {
            state.holding -= 1;
            *held = false;
        }
        while !*held {
            if exit.load(Ordering::SeqCst) {
                return false;
            }
            if state.holding < self.serving_max + state.aside {
                state.holding += 1;
                *held = true;
                break;
            }
            state = match self.opened.wait_timeout(state, Duration::from_millis(100)) {
                Ok((s, _)) => s,
                Err(p) => p.into_inner().0,
            };
        }
        true
    }

    fn step_aside(&self, by: isize) {
        let mut state = self.lock();
        state.aside = state.aside.saturating_add_signed(by);
        if by > 0 {
            self.opened.notify_one();
        }
    }
}

/// Runs `wait` (a wait that serves nobody, like a password hash) with one more worker let in to
/// serve meanwhile. On a thread that is not a gate's worker it just runs `wait`.
pub fn aside<T>(wait: impl FnOnce() -> T) -> T {
    let gate = MINE.with(|m| m.borrow().clone());
    let Some(gate) = gate else {
        return wait();
    };
    gate.step_aside(1);
    let out = wait();
    gate.step_aside(-1);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_beyond_the_serving_set_open_only_while_someone_waits_aside() {
        let gate = Arc::new(Gate::new(2));
        let exit = AtomicBool::new(false);
        let (mut a, mut b, mut c) = (false, false, false);
        assert!(gate.take_place(&mut a, &exit) && a);
        assert!(gate.take_place(&mut b, &exit) && b);
        gate.step_aside(1);
        assert!(
            gate.take_place(&mut c, &exit) && c,
            "a third while one waits aside"
        );
        gate.step_aside(-1);
        std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(Duration::from_millis(200));
                exit.store(true, Ordering::SeqCst);
            });
            assert!(
                !gate.take_place(&mut a, &exit),
                "waits for a place until the exit"
            );
        });
        assert!(!a, "the place beyond the serving set was given back");
        assert_eq!(gate.lock().holding, 2);
    }
}
