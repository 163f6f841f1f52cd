use super::*;

fn rec<'a>(seq: u64, key: &'a [u8], value: Option<&'a [u8]>) -> Record<'a> {
    Record {
        seq,
        key,
        value,
        batch_continues: false,
    }
}

#[test]
fn round_trip_value_empty_and_tombstone() {
    for r in [
        rec(7, b"k", Some(b"value")),
        rec(8, b"k", Some(b"")),
        rec(9, b"k", None),
        rec(0, b"", Some(b"x")),
    ] {
        let buf = encode(&r);
        assert_eq!(buf.len(), r.encoded_len());
        let (d, n) = decode(&buf).unwrap();
        assert_eq!(d, r);
        assert_eq!(n, buf.len());
    }
}

#[test]
fn every_single_bit_flip_is_detected() {
    let buf = encode(&rec(3, b"key", Some(b"some value")));
    for byte in 0..buf.len() {
        for bit in 0..8 {
            let mut b = buf.clone();
            b[byte] ^= 1 << bit;
            assert!(decode(&b).is_err(), "flip at byte {byte} bit {bit}");
        }
    }
}

fn log(n: u64) -> Vec<u8> {
    let mut buf = Vec::new();
    for i in 0..n {
        encode_into(&mut buf, &rec(i, format!("k{i}").as_bytes(), Some(b"v")));
    }
    buf
}

#[test]
fn torn_tail_of_every_length_is_dropped() {
    let full = log(5);
    let last_start = log(4).len();
    for cut in last_start + 1..full.len() {
        let end = scan_log(&full[..cut], Path::new("t"), |_, _| Ok(())).unwrap();
        assert_eq!(end.records, 4);
        assert_eq!(end.valid_len, last_start as u64);
        // Torn up to its last non-zero byte; zeros after that (a cut
        // inside a length field, say) count as reserved.
        assert_eq!(
            end.torn_bytes + end.reserved_bytes,
            (cut - last_start) as u64
        );
        assert!(full[last_start + end.torn_bytes as usize..cut]
            .iter()
            .all(|&b| b == 0));
    }
}

#[test]
fn zero_filled_tail_is_reserved_not_torn_or_corrupt() {
    let mut buf = log(3);
    let good = buf.len() as u64;
    buf.extend_from_slice(&[0u8; 4096]);
    let end = scan_log(&buf, Path::new("t"), |_, _| Ok(())).unwrap();
    assert_eq!(
        (
            end.records,
            end.valid_len,
            end.torn_bytes,
            end.reserved_bytes
        ),
        (3, good, 0, 4096)
    );
}

#[test]
fn a_torn_record_in_reserved_space_is_torn_and_the_zeros_reserved() {
    let mut buf = log(3);
    let good = buf.len();
    let next = encode(&rec(9, b"k9", Some(b"value")));
    buf.extend_from_slice(&next[..10]);
    buf.extend_from_slice(&[0u8; 1000]);
    let end = scan_log(&buf, Path::new("t"), |_, _| Ok(())).unwrap();
    assert_eq!(end.records, 3);
    assert_eq!(end.valid_len, good as u64);
    // The torn part ends at its last non-zero byte.
    assert!(end.torn_bytes > 0 && end.torn_bytes <= 10);
    assert_eq!(end.torn_bytes + end.reserved_bytes, 1010);
}

#[test]
fn middle_corruption_is_an_error_with_offset() {
    let mut buf = log(5);
    let second = log(1).len();
    buf[second + HEADER_LEN] ^= 0xff;
    let err = scan_log(&buf, Path::new("seg"), |_, _| Ok(())).unwrap_err();
    match err {
        Error::Corrupt {
            offset, ref file, ..
        } => {
            assert_eq!(offset, Some(second as u64));
            assert_eq!(file, Path::new("seg"));
        }
        other => panic!("expected Corrupt, got {other}"),
    }
}

#[test]
fn torn_batch_is_dropped_whole() {
    let mut buf = log(1);
    let good = buf.len();
    for i in 0..3u64 {
        encode_into(
            &mut buf,
            &Record {
                seq: 10 + i,
                key: b"b",
                value: Some(b"v"),
                batch_continues: i < 2,
            },
        );
    }
    let cut = buf.len() - 1;
    let end = scan_log(&buf[..cut], Path::new("t"), |_, _| Ok(())).unwrap();
    assert_eq!((end.records, end.valid_len), (1, good as u64));
    let end = scan_log(&buf, Path::new("t"), |_, _| Ok(())).unwrap();
    assert_eq!(end.records, 4);
}

/// A log of generation `gen`: records `first..first + n`, each with a
/// value of `vlen` bytes.
fn gen_log(gen: u64, first: u64, n: u64, vlen: usize) -> Vec<u8> {
    let mut buf = Vec::new();
    // Values differ between generations, so a torn write never
    // happens to leave the old bytes it was writing over.
    let value = vec![b'a' + (gen % 26) as u8; vlen];
    for i in first..first + n {
        encode_into_generation(
            &mut buf,
            &rec(i, format!("k{i:04}").as_bytes(), Some(&value)),
            Some(gen),
        );
    }
    buf
}

/// `new` written from offset 0 over `old` (a recycled file).
fn recycled(old: &[u8], new: &[u8]) -> Vec<u8> {
    let mut image = old.to_vec();
    if image.len() < new.len() {
        image.resize(new.len(), 0);
    }
    image[..new.len()].copy_from_slice(new);
    image
}

fn seqs(image: &[u8], gen: u64) -> Result<(Vec<u64>, LogEnd)> {
    let mut seen = Vec::new();
    let end = scan_generation(image, Path::new("g"), gen, |_, r| {
        seen.push(r.seq);
        Ok(())
    })?;
    assert_eq!(
        end.valid_len + end.torn_bytes + end.recycled_bytes + end.reserved_bytes,
        image.len() as u64,
        "{end:?}"
    );
    Ok((seen, end))
}

#[test]
fn generation_round_trips_and_every_bit_flip_is_detected() {
    let r = rec(3, b"key", Some(b"some value"));
    let buf = {
        let mut b = Vec::new();
        encode_into_generation(&mut b, &r, Some(0x0102_0304_0506_0708));
        b
    };
    assert_eq!(buf.len(), GENERATION_HEADER_LEN + 3 + 10);
    let (d, g, n) = decode_generation(&buf).unwrap();
    assert_eq!((d, g, n), (r, Some(0x0102_0304_0506_0708), buf.len()));
    for byte in 0..buf.len() {
        for bit in 0..8 {
            let mut b = buf.clone();
            b[byte] ^= 1 << bit;
            assert!(decode(&b).is_err(), "flip at byte {byte} bit {bit}");
        }
    }
}

/// Logs that are never recycled keep the 21-byte header, byte for byte.
#[test]
fn records_without_a_generation_are_unchanged() {
    let r = rec(9, b"k", Some(b"value"));
    let mut b = Vec::new();
    encode_into_generation(&mut b, &r, None);
    assert_eq!(b, encode(&r));
    assert_eq!(b.len(), HEADER_LEN + 1 + 5);
    assert_eq!(decode_generation(&b).unwrap().1, None);
}

#[test]
fn a_recycled_log_ends_at_the_first_record_of_an_older_generation() {
    let old = [gen_log(3, 100, 10, 20), vec![0u8; 300]].concat();
    // Aligned (same record sizes) and not (new records end mid-record).
    for vlen in [20, 7, 45] {
        let new = gen_log(7, 0, 4, vlen);
        let image = recycled(&old, &new);
        let (seen, end) = seqs(&image, 7).unwrap();
        assert_eq!(seen, vec![0, 1, 2, 3], "vlen {vlen}");
        assert_eq!(end.valid_len, new.len() as u64);
        assert_eq!(end.torn_bytes, 0, "vlen {vlen}: leftovers are not torn");
        assert!(end.recycled_bytes > 0, "vlen {vlen}");
        assert_eq!(end.reserved_bytes, 300, "vlen {vlen}");
        // Without the generation check the old records are replayed
        // (or, misaligned, taken for corruption).
        let mut plain = 0;
        if let Ok(e) = scan_log(&image, Path::new("g"), |_, _| Ok(())) {
            plain = e.records;
        }
        assert!(vlen != 20 || plain > 4, "aligned old records replay");
    }
}

/// The rename survived, no new record did: nothing is replayed.
#[test]
fn a_recycled_file_without_new_records_is_an_empty_log() {
    let old = gen_log(3, 100, 10, 20);
    let (seen, end) = seqs(&old, 7).unwrap();
    assert!(seen.is_empty());
    assert_eq!((end.valid_len, end.torn_bytes), (0, 0));
    assert_eq!(end.recycled_bytes, old.len() as u64);
}

/// A torn new record followed by older records is a torn tail (or
/// leftovers, when too little of it survived to show its generation),
/// never corruption.
#[test]
fn a_torn_record_before_older_records_is_not_corruption() {
    let old = gen_log(3, 100, 12, 30);
    for before in [0u64, 3] {
        let new = gen_log(7, 0, before + 1, 11);
        let last = gen_log(7, 0, before, 11).len();
        for cut in last + 1..new.len() {
            let image = recycled(&old, &new[..cut]);
            let (seen, end) =
                seqs(&image, 7).unwrap_or_else(|e| panic!("{before} new, cut {cut}: {e}"));
            assert_eq!(seen.len() as u64, before, "cut {cut}");
            assert_eq!(end.valid_len, last as u64, "cut {cut}");
            if cut - last >= GENERATION_HEADER_LEN {
                assert!(
                    end.torn_bytes > 0,
                    "cut {cut}: a torn record of this generation"
                );
            }
        }
    }
}

#[test]
fn a_record_of_this_generation_after_damage_is_corruption() {
    let old = gen_log(3, 100, 12, 30);
    let new = gen_log(7, 0, 5, 11);
    let second = gen_log(7, 0, 1, 11).len();
    for image in [new.clone(), recycled(&old, &new)] {
        let mut image = image;
        image[second + GENERATION_HEADER_LEN] ^= 0xff;
        match seqs(&image, 7) {
            Err(Error::Corrupt { offset, .. }) => assert_eq!(offset, Some(second as u64)),
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }
}

/// A log without generations (written under `none`) scans by
/// generation exactly as without.
#[test]
fn a_log_without_generations_scans_the_same_by_generation() {
    let full = [log(5), vec![0u8; 100]].concat();
    for cut in 0..=full.len() {
        let plain = scan_log(&full[..cut], Path::new("t"), |_, _| Ok(())).unwrap();
        let (_, by_gen) = seqs(&full[..cut], 9).unwrap();
        assert_eq!(plain, by_gen, "cut {cut}");
    }
    let mut garbage = log(3);
    garbage.extend_from_slice(&[0xa5; 40]);
    let plain = scan_log(&garbage, Path::new("t"), |_, _| Ok(())).unwrap();
    assert_eq!(plain, seqs(&garbage, 9).unwrap().1);
}
