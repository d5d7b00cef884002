//! Where choices come from: a seeded PRNG for the stress harness, the input bytes for the
//! fuzzer. Both drive the same operation language through `Draw`.

pub trait Draw {
    fn next_u32(&mut self) -> u32;

    /// A value in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: u32) -> u32 {
        if n == 0 {
            return 0;
        }
        ((self.next_u32() as u64 * n as u64) >> 32) as u32
    }

    /// An index into a list of unknown length (taken modulo its length).
    fn pick(&mut self) -> u32 {
        self.next_u32()
    }

    /// True with probability `num / den`.
    fn chance(&mut self, num: u32, den: u32) -> bool {
        self.below(den) < num
    }
}

/// SplitMix64: tiny, fast, and good enough to pick operations.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
}

impl Draw for Rng {
    fn next_u32(&mut self) -> u32 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 32) as u32
    }
}

/// The fuzzer's input read as a stream of choices: one byte per small choice, so that
/// libFuzzer's byte mutations map to single decisions. Exhausted input reads as zeros.
pub struct Bytes<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Bytes<'a> {
    pub fn new(data: &'a [u8]) -> Bytes<'a> {
        Bytes { data, pos: 0 }
    }

    pub fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }
}

impl Draw for Bytes<'_> {
    fn next_u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }

    fn below(&mut self, n: u32) -> u32 {
        match n {
            0 => 0,
            1..=256 => self.byte() as u32 % n,
            _ => self.next_u32() % n,
        }
    }

    /// One byte: the harness's lists are short, and a short encoding keeps inputs dense.
    fn pick(&mut self) -> u32 {
        self.byte() as u32
    }
}
