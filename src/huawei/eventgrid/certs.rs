//! Kafka SASL_SSL certificate archives of event streams (`source_kafka.ssl_certificate_url`, seed 表 5-478:
//! "SASL证书地址，配置的obs地址"), checked when a stream is written, with the EGS.005160xx codes of
//! appendix 7.2. The cloud downloads the ZIP from OBS; localyun has no OBS, so it reads `file://` URLs
//! (a ZIP on this machine) and answers `http(s)://` and `obs://` URLs with EGS.00516012 (download failed);
//! anything else is EGS.00516011 (invalid URL).
//!
//! The archive must be a ZIP (EGS.00516010) holding at most [`MAX_FILES`] files (EGS.00516017) of at most
//! [`MAX_FILE_BYTES`] each (EGS.00516018), at least one a certificate or key store by its extension
//! (EGS.00516016). The seed gives no limits; these are localyun's. Only the ZIP central directory is read
//! (names and sizes), nothing is extracted.

use super::error::{CertificateFault, EgError};

/// Files an archive may hold.
pub const MAX_FILES: usize = 10;
/// Uncompressed size of one file.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;
/// Largest archive read.
pub const MAX_ARCHIVE_BYTES: u64 = 10 * 1024 * 1024;
/// Extensions that count as a certificate or key store.
pub const CERTIFICATE_EXTENSIONS: &[&str] =
    &[".jks", ".pem", ".crt", ".cer", ".p12", ".pfx", ".truststore", ".keystore"];

fn fault(kind: CertificateFault, detail: impl Into<String>) -> EgError {
    EgError::Certificate(kind, detail.into())
}

/// Checks the archive a certificate URL names.
pub fn check_url(field: &str, url: &str) -> Result<(), EgError> {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("obs://") {
        return Err(fault(
            CertificateFault::DownloadFailed,
            format!("{field}: localyun reaches no OBS to download {url}; name a local ZIP with file://"),
        ));
    }
    let Some(path) = url.strip_prefix("file://").filter(|p| p.starts_with('/')) else {
        return Err(fault(CertificateFault::BadUrl, format!("{field}: {url:?} is not a file:// (or OBS) URL")));
    };
    let meta = std::fs::metadata(path)
        .map_err(|e| fault(CertificateFault::DownloadFailed, format!("{field}: {path}: {e}")))?;
    if !meta.is_file() || meta.len() > MAX_ARCHIVE_BYTES {
        return Err(fault(
            CertificateFault::DownloadFailed,
            format!("{field}: {path} is not a file of at most {MAX_ARCHIVE_BYTES} bytes"),
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| fault(CertificateFault::DownloadFailed, format!("{field}: {e}")))?;
    check_archive(field, &bytes)
}

/// Checks a ZIP archive's directory.
pub fn check_archive(field: &str, zip: &[u8]) -> Result<(), EgError> {
    let entries =
        central_directory(zip).ok_or_else(|| fault(CertificateFault::NotZip, format!("{field}: not a ZIP archive")))?;
    let files: Vec<&(String, u64)> = entries.iter().filter(|(name, _)| !name.ends_with('/')).collect();
    if files.len() > MAX_FILES {
        return Err(fault(
            CertificateFault::TooManyFiles,
            format!("{field}: {} files; at most {MAX_FILES}", files.len()),
        ));
    }
    if let Some((name, size)) = files.iter().find(|(_, size)| *size > MAX_FILE_BYTES) {
        return Err(fault(
            CertificateFault::FileTooLarge,
            format!("{field}: {name} is {size} bytes; at most {MAX_FILE_BYTES}"),
        ));
    }
    let has_certificate = files.iter().any(|(name, _)| {
        let lower = name.to_ascii_lowercase();
        CERTIFICATE_EXTENSIONS.iter().any(|ext| lower.ends_with(ext))
    });
    if !has_certificate {
        return Err(fault(
            CertificateFault::NoCertificate,
            format!("{field}: no {} file in the archive", CERTIFICATE_EXTENSIONS.join("/")),
        ));
    }
    Ok(())
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The (name, uncompressed size) of every central-directory entry (PKWARE APPNOTE 4.3.12, 4.3.16); None
/// when the bytes are not a ZIP archive.
fn central_directory(zip: &[u8]) -> Option<Vec<(String, u64)>> {
    const EOCD: u32 = 0x0605_4b50;
    const ENTRY: u32 = 0x0201_4b50;
    if zip.len() < 22 {
        return None;
    }
    // The end record is the last 22 bytes plus a comment of up to 65,535 bytes.
    let lowest = zip.len().saturating_sub(22 + 65_535);
    let end = (lowest..=zip.len() - 22).rev().find(|&i| u32_at(zip, i) == Some(EOCD))?;
    let count = usize::from(u16_at(zip, end + 10)?);
    let mut at = usize::try_from(u32_at(zip, end + 16)?).ok()?;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        if u32_at(zip, at)? != ENTRY {
            return None;
        }
        let size = u64::from(u32_at(zip, at + 24)?);
        let name_len = usize::from(u16_at(zip, at + 28)?);
        let extra_len = usize::from(u16_at(zip, at + 30)?);
        let comment_len = usize::from(u16_at(zip, at + 32)?);
        let name = zip.get(at + 46..at + 46 + name_len)?;
        out.push((String::from_utf8_lossy(name).into_owned(), size));
        at += 46 + name_len + extra_len + comment_len;
    }
    Some(out)
}

/// A stored (uncompressed) ZIP of `files` (name, content): what the tests feed the checks.
#[cfg(test)]
fn stored_zip(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut directory = Vec::new();
    for (name, data) in files {
        let offset = out.len() as u32;
        let crc = crc32fast::hash(data);
        let header = |sig: u32, central: bool| {
            let mut h = Vec::new();
            h.extend_from_slice(&sig.to_le_bytes());
            if central {
                h.extend_from_slice(&20u16.to_le_bytes());
            }
            h.extend_from_slice(&20u16.to_le_bytes()); // version needed
            h.extend_from_slice(&0u16.to_le_bytes()); // flags
            h.extend_from_slice(&0u16.to_le_bytes()); // stored
            h.extend_from_slice(&0u32.to_le_bytes()); // time, date
            h.extend_from_slice(&crc.to_le_bytes());
            h.extend_from_slice(&(data.len() as u32).to_le_bytes());
            h.extend_from_slice(&(data.len() as u32).to_le_bytes());
            h.extend_from_slice(&(name.len() as u16).to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes()); // extra
            if central {
                h.extend_from_slice(&0u16.to_le_bytes()); // comment
                h.extend_from_slice(&0u16.to_le_bytes()); // disk
                h.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
                h.extend_from_slice(&0u32.to_le_bytes()); // external attributes
                h.extend_from_slice(&offset.to_le_bytes());
            }
            h.extend_from_slice(name.as_bytes());
            h
        };
        out.extend(header(0x0403_4b50, false));
        out.extend_from_slice(data);
        directory.extend(header(0x0201_4b50, true));
    }
    let start = out.len() as u32;
    out.extend_from_slice(&directory);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&(files.len() as u16).to_le_bytes());
    out.extend_from_slice(&(files.len() as u16).to_le_bytes());
    out.extend_from_slice(&(directory.len() as u32).to_le_bytes());
    out.extend_from_slice(&start.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(r: Result<(), EgError>) -> &'static str {
        r.err().map_or("ok", |e| e.code())
    }

    #[test]
    fn archives_are_checked() {
        assert_eq!(code(check_archive("f", &stored_zip(&[("client.jks", b"k"), ("readme", b"r")]))), "ok");
        assert_eq!(code(check_archive("f", b"PK not really")), "EGS.00516010");
        assert_eq!(code(check_archive("f", &stored_zip(&[("readme.txt", b"r")]))), "EGS.00516016");
        let many: Vec<(String, Vec<u8>)> = (0..11).map(|i| (format!("c{i}.pem"), vec![1])).collect();
        let many: Vec<(&str, &[u8])> = many.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect();
        assert_eq!(code(check_archive("f", &stored_zip(&many))), "EGS.00516017");
        let big = vec![0u8; MAX_FILE_BYTES as usize + 1];
        assert_eq!(code(check_archive("f", &stored_zip(&[("c.pem", &big)]))), "EGS.00516018");
        assert_eq!(code(check_url("f", "https://domain/kafka-certs.zip")), "EGS.00516012");
        assert_eq!(code(check_url("f", "kafka-certs.zip")), "EGS.00516011");
        assert_eq!(code(check_url("f", "file:///no/such/file.zip")), "EGS.00516012");
    }
}
