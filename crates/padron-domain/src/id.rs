//! Identity ids: 12 bytes shown as 24 lower-case hex characters, time-ordered like a MongoDB
//! ObjectId (4-byte seconds, 5 random bytes per process, 3-byte counter).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A parsed identity id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdentityId([u8; 12]);

struct Generator {
    process: [u8; 5],
    counter: AtomicU32,
}

fn generator() -> &'static Generator {
    static GENERATOR: OnceLock<Generator> = OnceLock::new();
    GENERATOR.get_or_init(|| Generator {
        process: rand::random(),
        // A random start keeps two processes started in the same second apart even if their
        // random process bytes were to collide.
        counter: AtomicU32::new(rand::random::<u32>() & 0x007f_ffff),
    })
}

impl IdentityId {
    /// A new id, greater than every id this process made in an earlier second.
    pub fn generate() -> Self {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let g = generator();
        let count = g.counter.fetch_add(1, Ordering::Relaxed) & 0x00ff_ffff;
        let mut bytes = [0u8; 12];
        bytes[..4].copy_from_slice(&(secs as u32).to_be_bytes());
        bytes[4..9].copy_from_slice(&g.process);
        bytes[9..].copy_from_slice(&count.to_be_bytes()[1..]);
        Self(bytes)
    }

    /// Parses exactly 24 hex characters (either case); the canonical form is lower case.
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.as_bytes();
        if raw.len() != 24 {
            return None;
        }
        let mut bytes = [0u8; 12];
        for (i, pair) in raw.chunks_exact(2).enumerate() {
            let hi = (pair[0] as char).to_digit(16)?;
            let lo = (pair[1] as char).to_digit(16)?;
            bytes[i] = (hi * 16 + lo) as u8;
        }
        Some(Self(bytes))
    }

    /// The canonical 24-character lower-case hex form.
    pub fn to_hex(&self) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(24);
        for b in self.0 {
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 15) as usize] as char);
        }
        out
    }
}

impl std::fmt::Display for IdentityId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_24_hex_and_increase() {
        let mut last = IdentityId::generate();
        for _ in 0..10_000 {
            let next = IdentityId::generate();
            let hex = next.to_hex();
            assert_eq!(hex.len(), 24);
            assert!(
                hex.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            );
            assert!(next.to_hex() > last.to_hex(), "{next} not after {last}");
            last = next;
        }
    }

    #[test]
    fn parse_round_trips_and_rejects_bad_input() {
        let id = IdentityId::generate();
        assert_eq!(IdentityId::parse(&id.to_hex()), Some(id));
        assert_eq!(IdentityId::parse(&id.to_hex().to_uppercase()), Some(id));
        assert_eq!(IdentityId::parse("679d29934a21df7584b38e1"), None);
        assert_eq!(IdentityId::parse("679d29934a21df7584b38e1g"), None);
        assert_eq!(IdentityId::parse("679d29934a21df7584b38é1"), None);
    }
}
