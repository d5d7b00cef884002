//! The operation language: what one harness thread (or the fuzzer's driver) does next, drawn
//! from a `Draw`, and the checks each operation makes on what the library answers.

use std::ffi::c_void;

use tasks::ffi::status::TASKS_FOREVER;

use super::draw::Draw;
use super::pool::PoolOp;
use super::program::{Body, Prog};
use super::world::Skip;

#[derive(Clone, Copy, Debug)]
pub enum Target {
    Default,
    /// A NULL runtime from a harness thread: the default runtime.
    Null,
    Slot(u8),
}

#[derive(Clone, Copy, Debug)]
pub enum How {
    Run,
    Poll,
    Blocking,
    After(u64),
}

#[derive(Clone, Copy, Debug)]
pub enum Op {
    Spawn {
        how: How,
        target: Target,
        prog: Prog,
        keep: bool,
        named: bool,
    },
    Join {
        pick: u32,
        timeout: u64,
        out_null: bool,
    },
    IsFinished {
        pick: u32,
    },
    Abort {
        pick: u32,
        via_abort_handle: bool,
    },
    FreeHandle {
        pick: u32,
    },
    Share {
        pick: u32,
    },
    TakeShared {
        pick: u32,
    },
    AbortPool {
        pick: u32,
        what: u8,
    },
    SetNew {
        target: Target,
    },
    SetSpawn {
        pick: u32,
        poll: bool,
        prog: Prog,
    },
    SetNext {
        pick: u32,
        timeout: u64,
        out_null: bool,
    },
    SetAbortAll {
        pick: u32,
    },
    SetFree {
        pick: u32,
    },
    ExecNew,
    ExecSpawn {
        owner: u32,
        poll: bool,
        prog: Prog,
        keep: bool,
    },
    ExecRun {
        max: u32,
    },
    ExecLen {
        owner: u32,
    },
    ExecFree,
    BlockOn {
        target: Target,
        prog: Prog,
        out_null: bool,
    },
    BlockInPlace,
    Pool {
        op: PoolOp,
        pick: u32,
    },
    Custom {
        what: u8,
        pick: u32,
    },
    Shutdown {
        slot: u8,
        timeout: u64,
    },
    Replace {
        slot: u8,
    },
    Metrics {
        target: Target,
    },
}

/// Operation kinds with their weights; the names are what STRESS_SKIP takes.
const KINDS: &[(&str, u32)] = &[
    ("spawn", 14),
    ("spawn_poll", 10),
    ("spawn_blocking", 3),
    ("spawn_after", 4),
    ("join", 14),
    ("is_finished", 3),
    ("abort", 5),
    ("free_handle", 4),
    ("share", 3),
    ("abort_pool", 3),
    ("join_set", 10),
    ("executor", 8),
    ("block_on", 2),
    ("block_in_place", 1),
    ("waker_pool", 4),
    ("custom_waker", 4),
    ("shutdown", 1),
    ("free_runtime", 1),
    ("metrics", 2),
];

/// Body kinds by STRESS_SKIP name.
pub fn body_name(b: Body) -> &'static str {
    match b {
        Body::Return => "body_return",
        Body::Yield => "body_yield",
        Body::Sleep => "body_sleep",
        Body::CheckCancel => "body_check_cancel",
        Body::PoolPark => "body_pool_park",
        Body::SelfWake => "body_self_wake",
        Body::Child => "body_child",
        Body::JoinSetChild => "body_join_set",
        Body::BlockInPlace => "body_block_in_place",
        Body::Guard => "body_guard",
        Body::ExecGuard => "body_exec_guard",
        Body::BlockOnOther => "body_block_on_other",
        Body::GuardParent => "body_guard_parent",
    }
}

/// Names STRESS_SKIP accepts (for the usage message).
pub fn all_names() -> Vec<&'static str> {
    let mut v: Vec<_> = KINDS.iter().map(|k| k.0).collect();
    // Not an operation: runtimes built with 256 KiB thread stacks (one in four).
    v.push("small_stacks");
    v.extend(
        [
            Body::Return,
            Body::Yield,
            Body::Sleep,
            Body::CheckCancel,
            Body::PoolPark,
            Body::SelfWake,
            Body::Child,
            Body::JoinSetChild,
            Body::BlockInPlace,
            Body::Guard,
            Body::ExecGuard,
            Body::BlockOnOther,
            Body::GuardParent,
        ]
        .map(body_name),
    );
    v
}

fn timeout(d: &mut impl Draw) -> u64 {
    [
        0,
        0,
        20_000,
        200_000,
        2_000_000,
        TASKS_FOREVER,
        TASKS_FOREVER,
    ][d.below(7) as usize]
}

fn target(d: &mut impl Draw, slots: u8) -> Target {
    match d.below(4) {
        0 => Target::Default,
        1 => Target::Null,
        _ if slots == 0 => Target::Default,
        _ => Target::Slot(d.below(slots as u32) as u8),
    }
}

impl Op {
    pub fn draw(d: &mut impl Draw, skip: &Skip, slots: u8) -> Op {
        let prog = |d: &mut _| Prog::draw(d, &|b| skip.allows(body_name(b)));
        let total: u32 = KINDS.iter().filter(|k| skip.allows(k.0)).map(|k| k.1).sum();
        let mut r = d.below(total.max(1));
        let mut name = "metrics";
        for k in KINDS.iter().filter(|k| skip.allows(k.0)) {
            if r < k.1 {
                name = k.0;
                break;
            }
            r -= k.1;
        }
        let pick = d.pick();
        match name {
            "spawn" | "spawn_poll" | "spawn_blocking" | "spawn_after" => Op::Spawn {
                how: match name {
                    "spawn" => How::Run,
                    "spawn_poll" => How::Poll,
                    "spawn_blocking" => How::Blocking,
                    _ => How::After([0, 10_000, 100_000, 1_000_000][d.below(4) as usize]),
                },
                target: target(d, slots),
                prog: prog(d),
                keep: d.chance(3, 4),
                named: d.chance(1, 4),
            },
            "join" => Op::Join {
                pick,
                timeout: timeout(d),
                out_null: d.chance(1, 5),
            },
            "is_finished" => Op::IsFinished { pick },
            "abort" => Op::Abort {
                pick,
                via_abort_handle: d.chance(1, 2),
            },
            "free_handle" => Op::FreeHandle { pick },
            "share" => {
                if d.chance(1, 2) {
                    Op::Share { pick }
                } else {
                    Op::TakeShared { pick }
                }
            }
            "abort_pool" => Op::AbortPool {
                pick,
                what: d.below(4) as u8,
            },
            "join_set" => match d.below(10) {
                0 => Op::SetNew {
                    target: target(d, slots),
                },
                1..=4 => Op::SetSpawn {
                    pick,
                    poll: d.chance(1, 2),
                    prog: prog(d),
                },
                5..=7 => Op::SetNext {
                    pick,
                    timeout: timeout(d),
                    out_null: d.chance(1, 5),
                },
                8 => Op::SetAbortAll { pick },
                _ => Op::SetFree { pick },
            },
            "executor" => match d.below(12) {
                0 => Op::ExecNew,
                1..=5 => Op::ExecSpawn {
                    owner: pick,
                    poll: d.chance(1, 2),
                    prog: prog(d),
                    keep: d.chance(2, 3),
                },
                6..=9 => Op::ExecRun {
                    max: [1, 4, 64, 1000][d.below(4) as usize],
                },
                10 => Op::ExecLen { owner: pick },
                _ => Op::ExecFree,
            },
            "block_on" => Op::BlockOn {
                target: target(d, slots),
                prog: prog(d),
                out_null: d.chance(1, 4),
            },
            "block_in_place" => Op::BlockInPlace,
            "waker_pool" => Op::Pool {
                op: [
                    PoolOp::Wake,
                    PoolOp::WakeByRefKeep,
                    PoolOp::CloneBoth,
                    PoolOp::WakeByRefFree,
                ][d.below(4) as usize],
                pick,
            },
            "custom_waker" => Op::Custom {
                what: d.below(5) as u8,
                pick,
            },
            "shutdown" if slots > 0 => Op::Shutdown {
                slot: d.below(slots as u32) as u8,
                timeout: [0, 100_000, 1_000_000, TASKS_FOREVER][d.below(4) as usize],
            },
            "free_runtime" if slots > 0 => Op::Replace {
                slot: d.below(slots as u32) as u8,
            },
            _ => Op::Metrics {
                target: target(d, slots),
            },
        }
    }
}

/// A pointer the harness passes around between threads.
pub fn ptr<T>(v: usize) -> *mut T {
    v as *mut T
}

pub fn addr(p: *mut c_void) -> usize {
    p as usize
}
