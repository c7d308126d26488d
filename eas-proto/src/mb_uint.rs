//! WBXML multi-byte unsigned integers (mb_u_int32): big-endian groups of
//! seven bits, the high bit set on every byte but the last.

use crate::WbxmlError;

/// A 32-bit value takes at most five groups of seven bits.
const MAX_BYTES: usize = 5;

/// Reads an mb_u_int32 at `*pos`, advancing it. Refuses more than five bytes
/// or a value above `u32::MAX`, so a run of 0x80 bytes cannot loop or wrap.
pub(crate) fn read(input: &[u8], pos: &mut usize) -> Result<u32, WbxmlError> {
    let start = *pos;
    let mut value: u64 = 0;
    for i in 0..MAX_BYTES {
        let byte = *input
            .get(start + i)
            .ok_or(WbxmlError::Truncated { offset: start + i })?;
        value = (value << 7) | u64::from(byte & 0x7F);
        if byte & 0x80 == 0 {
            *pos = start + i + 1;
            return u32::try_from(value).map_err(|_| WbxmlError::IntegerOverflow { offset: start });
        }
    }
    Err(WbxmlError::IntegerOverflow { offset: start })
}

/// Appends `value` as an mb_u_int32 in its shortest form.
pub(crate) fn write(out: &mut Vec<u8>, value: u32) {
    let mut groups = [0u8; MAX_BYTES];
    let mut n = 0;
    let mut v = value;
    loop {
        groups[n] = (v & 0x7F) as u8;
        n += 1;
        v >>= 7;
        if v == 0 {
            break;
        }
    }
    for i in (0..n).rev() {
        let more = if i == 0 { 0 } else { 0x80 };
        out.push(groups[i] | more);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(v: u32) {
        let mut out = Vec::new();
        write(&mut out, v);
        let mut pos = 0;
        assert_eq!(read(&out, &mut pos), Ok(v));
        assert_eq!(pos, out.len());
    }

    #[test]
    fn shortest_forms() {
        let mut out = Vec::new();
        write(&mut out, 0);
        write(&mut out, 0x7F);
        write(&mut out, 0x80);
        write(&mut out, 0xA0);
        assert_eq!(out, [0x00, 0x7F, 0x81, 0x00, 0x81, 0x20]);
        for v in [0, 1, 127, 128, 16383, 16384, u32::MAX] {
            round_trip(v);
        }
    }

    #[test]
    fn bounded() {
        let mut pos = 0;
        assert_eq!(
            read(&[0x90, 0x80, 0x80, 0x80, 0x00], &mut pos),
            Err(WbxmlError::IntegerOverflow { offset: 0 })
        );
        let mut pos = 0;
        assert_eq!(
            read(&[0x80; 9], &mut pos),
            Err(WbxmlError::IntegerOverflow { offset: 0 })
        );
        let mut pos = 0;
        assert_eq!(
            read(&[0x81], &mut pos),
            Err(WbxmlError::Truncated { offset: 1 })
        );
        let mut pos = 0;
        assert_eq!(
            read(&[0x8F, 0xFF, 0xFF, 0xFF, 0x7F], &mut pos),
            Ok(u32::MAX)
        );
    }
}
