//! `dynplug::offline::relocate` on inputs glibc's oracle (tests/offline_oracle.rs) cannot give:
//! hostile bytes are typed errors, and inputs the request lacks are problems, never guesses.
use dynplug::offline::{relocate, Binding, OwnTls, Relocated, Request};
use dynplug_loader::{LoadError, StaticTlsRefusal, Unsupported};

fn kinds() -> Vec<u8> {
    std::fs::read(dynplug_fixtures::path("oracle_kinds")).unwrap()
}

/// Every import of oracle_kinds (x86_64) at a made-up address, and its IFUNCs answered.
fn complete(image: &[u8], tls: Option<OwnTls>) -> Relocated {
    let imports = |name: &[u8], _: Option<&[u8]>| {
        match name {
            b"errno" => Some(Binding::ThreadLocal {
                module_id: 1,
                offset: 16,
                block_from_tp: Some(-144),
            }),
            b"strlen" | b"getenv" | b"environ" | b"strtol" | b"__tls_get_addr" => {
                Some(Binding::Address(0x7000_0000_0000))
            }
            // The fixture's own exports: not interposed.
            _ => None,
        }
    };
    let ifunc = |resolver: u64| Some(resolver + 1);
    relocate(
        image,
        &Request {
            imports: &imports,
            ifunc: &ifunc,
            tls,
            ..Request::new(0x5000_0000)
        },
    )
    .unwrap()
}

#[test]
fn bytes_that_are_not_elf_are_an_error() {
    assert!(matches!(
        relocate(b"not an ELF file at all", &Request::new(0)),
        Err(LoadError::NotElf)
    ));
}

#[test]
fn a_page_size_no_machine_has_is_an_error() {
    for page_size in [0, 3000, 1 << 20] {
        let request = Request {
            page_size,
            ..Request::new(0)
        };
        assert!(matches!(
            relocate(&kinds(), &request),
            Err(LoadError::Io(e)) if e.kind() == std::io::ErrorKind::InvalidInput
        ));
    }
}

#[test]
fn every_truncation_is_an_error_or_a_problem_never_a_panic() {
    let image = kinds();
    for len in (0..image.len()).step_by(61) {
        let _ = relocate(&image[..len], &Request::new(0x1000_0000));
    }
}

#[test]
fn missing_inputs_are_problems() {
    let out = relocate(&kinds(), &Request::new(0x5000_0000)).unwrap();
    let text: Vec<String> = out.problems.iter().map(ToString::to_string).collect();
    assert!(
        out.problems
            .iter()
            .any(|p| matches!(p, LoadError::NoIfuncResult { .. })),
        "{text:?}"
    );
    assert!(
        out.problems
            .iter()
            .any(|p| matches!(p, LoadError::UndefinedSymbols(s) if s.iter().any(|s| s.starts_with("strlen@")))),
        "{text:?}"
    );
}

#[test]
fn initial_exec_needs_the_block_placed() {
    let placed = complete(
        &kinds(),
        Some(OwnTls {
            module_id: 2,
            block_from_tp: Some(-0x9c),
        }),
    );
    assert!(placed.problems.is_empty(), "{:?}", placed.problems);
    let unplaced = complete(
        &kinds(),
        Some(OwnTls {
            module_id: 2,
            block_from_tp: None,
        }),
    );
    assert!(
        unplaced.problems.iter().any(|p| matches!(
            p,
            LoadError::Unsupported(Unsupported::InitialExecTls {
                why: StaticTlsRefusal::NotPlaced,
                ..
            })
        )),
        "{:?}",
        unplaced.problems
    );
}

#[test]
fn segments_carry_protections_and_relro() {
    let out = complete(
        &kinds(),
        Some(OwnTls {
            module_id: 2,
            block_from_tp: Some(-0x9c),
        }),
    );
    let writable: Vec<_> = out.segments.iter().filter(|s| s.flags & 2 != 0).collect();
    assert_eq!(writable.len(), 1);
    assert!(
        out.segments.iter().any(|s| s.flags & 1 != 0),
        "a code segment"
    );
    let relro = writable[0]
        .relro
        .clone()
        .expect("RELRO in the data segment");
    assert!(relro.start >= writable[0].vaddr && relro.end > relro.start);
}
