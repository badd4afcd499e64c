//! The txn log's records as replay consumes them, from an open log or read-only.

use std::path::{Path, PathBuf};

use warren_wal::{Record, SegmentReader, Wal};

use crate::DataDirError;

/// One log record, with where it was read when that is known (file and offset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    pub record: Record,
    pub at: Option<(PathBuf, u64)>,
}

impl LogRecord {
    /// Where the record is, for messages: `file offset N`, or the log dir.
    pub fn place(&self, wal_dir: &Path) -> String {
        match &self.at {
            Some((path, offset)) => format!("{} offset {offset}", path.display()),
            None => format!("in {}", wal_dir.display()),
        }
    }
}

/// The records of an open (locked, verified) log from `from` on.
///
/// # Errors
/// [`DataDirError::Wal`] when the log cannot be read.
pub fn from_open_log(
    wal: &Wal,
    from: u64,
) -> Result<impl Iterator<Item = Result<LogRecord, DataDirError>> + '_, DataDirError> {
    let wal_err = |source| DataDirError::Wal {
        path: wal.dir().to_owned(),
        source,
    };
    Ok(wal.read_from(from).map_err(wal_err)?.map(move |r| {
        r.map(|record| LogRecord { record, at: None })
            .map_err(wal_err)
    }))
}

/// Every record of a wal dir, in seq order, with its file and offset. Read-only: no lock
/// is taken and nothing is repaired, so it is safe beside a running server.
pub struct WalRecords {
    dir: PathBuf,
    segments: std::vec::IntoIter<(u64, PathBuf)>,
    current: Option<(PathBuf, SegmentReader)>,
}

impl WalRecords {
    /// Lists the segments of `dir`.
    ///
    /// # Errors
    /// [`DataDirError::Wal`] when the directory cannot be listed.
    pub fn open(dir: &Path) -> Result<WalRecords, DataDirError> {
        let segments = warren_wal::list_segments(dir).map_err(|source| DataDirError::Wal {
            path: dir.to_owned(),
            source,
        })?;
        Ok(WalRecords {
            dir: dir.to_owned(),
            segments: segments.into_iter(),
            current: None,
        })
    }

    /// Stops the iteration after an error: nothing past a bad record is trusted.
    fn fail(&mut self, source: warren_wal::WalError) -> DataDirError {
        self.current = None;
        self.segments = Vec::new().into_iter();
        DataDirError::Wal {
            path: self.dir.clone(),
            source,
        }
    }
}

impl Iterator for WalRecords {
    type Item = Result<LogRecord, DataDirError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some((path, reader)) = &mut self.current {
                match reader.next() {
                    Some(Ok((offset, record))) => {
                        let at = Some((path.clone(), offset));
                        return Some(Ok(LogRecord { record, at }));
                    }
                    Some(Err(e)) => return Some(Err(self.fail(e))),
                    None => self.current = None,
                }
            }
            let (_, path) = self.segments.next()?;
            match SegmentReader::open(&path) {
                Ok(r) => self.current = Some((path, r)),
                Err(e) => return Some(Err(self.fail(e))),
            }
        }
    }
}
