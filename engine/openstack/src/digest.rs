//! SHA-512 and MD5 of image data, computed while it streams past.

use std::io;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use md5::Md5;
use serde::Serialize;
use sha2::{Digest, Sha512};
use shutter_core::action_outputs;

/// A stream of data chunks, as sources and downloads produce them.
pub(crate) type DataStream = BoxStream<'static, io::Result<Bytes>>;

/// What Glance computes too: `os_hash_value` (SHA-512), `checksum` (MD5),
/// `size`; as outputs, of an upload or a download.
#[action_outputs]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Digests {
    /// SHA-512 of the data (hex).
    pub(crate) sha512: String,
    /// MD5 of the data (hex).
    pub(crate) md5: String,
    /// Bytes of data.
    pub(crate) size: u64,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Hasher {
    sha512: Sha512,
    md5: Md5,
    size: u64,
}

impl Hasher {
    pub(crate) fn update(&mut self, data: &[u8]) {
        self.sha512.update(data);
        self.md5.update(data);
        self.size += data.len() as u64;
    }

    pub(crate) fn finish(self) -> Digests {
        Digests {
            sha512: hex::encode(self.sha512.finalize()),
            md5: hex::encode(self.md5.finalize()),
            size: self.size,
        }
    }
}

/// Shared between a stream and whoever watches it: the hash state of the
/// bytes yielded so far. Each chunk is hashed before it is yielded, so once
/// the receiver has everything, the digests cover everything (a client that
/// knows the length may never poll the stream for its end).
#[derive(Debug, Clone, Default)]
pub(crate) struct Tally {
    hasher: Arc<Mutex<Hasher>>,
}

impl Tally {
    fn lock(&self) -> std::sync::MutexGuard<'_, Hasher> {
        self.hasher
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn update(&self, data: &[u8]) {
        self.lock().update(data);
    }

    pub(crate) fn bytes(&self) -> u64 {
        self.lock().size
    }

    /// The digests of the bytes yielded so far.
    pub(crate) fn digests(&self) -> Digests {
        self.lock().clone().finish()
    }
}

/// `inner`, hashing each chunk into `tally` before yielding it.
pub(crate) fn hashing(inner: DataStream, tally: Tally) -> DataStream {
    inner
        .map(move |chunk| {
            if let Ok(chunk) = &chunk {
                tally.update(chunk);
            }
            chunk
        })
        .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn digests_match_known_values_and_arrive_with_the_end() {
        let chunks: Vec<io::Result<Bytes>> =
            vec![Ok(Bytes::from_static(b"ab")), Ok(Bytes::from_static(b"c"))];
        let tally = Tally::default();
        let mut stream = hashing(futures_util::stream::iter(chunks).boxed(), tally.clone());
        assert_eq!(stream.next().await.unwrap().unwrap(), "ab");
        assert_eq!(tally.bytes(), 2);
        while stream.next().await.is_some() {}
        let digests = tally.digests();
        assert_eq!(digests.md5, "900150983cd24fb0d6963f7d28e17f72");
        assert!(digests.sha512.starts_with("ddaf35a193617aba"));
        assert_eq!((digests.size, tally.bytes()), (3, 3));
    }
}
