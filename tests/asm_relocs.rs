//! Hand-written data relocations (testdata/c/asm_relocs.S): R_ABS64 with a negative and a
//! wider-than-32-bit addend, against an unresolved weak symbol (the word is the addend), against
//! libc's strlen; RELATIVE packed in DT_RELR and at an odd address in DT_RELA.
// SAFETY (this file): the plugins opened here are the fixtures built from testdata/; every
// symbol is cast to the type its source declares, and called or dereferenced accordingly.
use dynplug::Plugin;
use dynplug_fixtures::inspect::{Object, R_ABS64, R_RELATIVE};
use dynplug_fixtures::path;

#[test]
fn fixture_carries_the_relocations_tested() {
    let o = Object::read(path("asm_relocs"));
    let words = o.symbol_value("asm_words").unwrap();
    let at = |i: u64| o.relocation_at(words + 8 * i);
    let abs = |i: u64| {
        let r = at(i).unwrap_or_else(|| panic!("asm_words[{i}] relocated in DT_RELA"));
        assert_eq!(r.r_type, R_ABS64, "asm_words[{i}]");
        (r.symbol, r.addend)
    };
    assert_eq!(abs(0), ("asm_target".into(), -8));
    assert_eq!(abs(1), ("asm_target".into(), 0x1_2345_6789));
    // binutils 2.40 packs DT_RELR for x86 only: elsewhere the word is a DT_RELA RELATIVE.
    if cfg!(target_arch = "x86_64") {
        assert!(
            o.relr_places().contains(&(words + 16)),
            "asm_words[2] in DT_RELR"
        );
    } else {
        assert_eq!(at(2).map(|r| r.r_type), Some(R_RELATIVE), "asm_words[2]");
    }
    assert_eq!(abs(3), ("asm_weak".into(), 5));
    assert_eq!(abs(4), ("strlen".into(), 0));
    assert_eq!(abs(5), ("asm_weak".into(), 0));
    let odd = o.symbol_value("asm_unaligned").unwrap() + 1;
    assert_eq!(odd % 8, 1);
    let r = o
        .relocation_at(odd)
        .expect("the unaligned RELATIVE is in DT_RELA");
    assert_eq!(r.r_type, R_RELATIVE);
    assert_eq!(
        r.addend as u64,
        o.symbol_value("asm_target").unwrap() + 16 + 24
    );
}

#[test]
fn each_word_matches_its_formula() {
    let p = unsafe { Plugin::open(path("asm_relocs")) }.unwrap();
    let target = p.lookup("asm_target").unwrap().addr() as u64;
    let w = p.lookup("asm_words").unwrap().addr() as *const u64;
    let word = |i| unsafe { *w.add(i) };
    assert_eq!(word(0), target.wrapping_sub(8), "S - 8");
    assert_eq!(
        word(1),
        target.wrapping_add(0x1_2345_6789),
        "S + 0x123456789"
    );
    // local_data (= asm_target + 16) holds 1, 2, 3, 4: [2] points at its third quad.
    assert_eq!(word(2), target + 16 + 16, "B + A (DT_RELR)");
    assert_eq!(unsafe { *(word(2) as *const u64) }, 3);
    assert_eq!(word(3), 5, "unresolved weak: 0 + 5");
    assert_eq!(word(4), libc::strlen as *const () as u64, "libc's strlen");
    assert_eq!(word(5), 0, "unresolved weak: 0");
    assert_eq!(
        unsafe { *(target as *const [u64; 2]) },
        [0x1111_1111_1111_1111, 0x2222_2222_2222_2222]
    );
}

#[test]
fn relative_at_an_odd_address_is_written_unaligned() {
    let p = unsafe { Plugin::open(path("asm_relocs")) }.unwrap();
    let target = p.lookup("asm_target").unwrap().addr() as u64;
    let u = p.lookup("asm_unaligned").unwrap().addr() as *const u8;
    let bytes = unsafe { std::slice::from_raw_parts(u, 10) };
    assert_eq!(
        (bytes[0], bytes[9]),
        (0xaa, 0xbb),
        "the bytes around it are untouched"
    );
    let ptr = u64::from_le_bytes(bytes[1..9].try_into().unwrap());
    assert_eq!(ptr, target + 16 + 24, "B + A");
    assert_eq!(unsafe { *(ptr as *const u64) }, 4);
}
