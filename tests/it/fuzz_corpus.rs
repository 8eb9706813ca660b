//! Replays every input of `fuzz/corpus/<target>/` through the fuzz target's entry point (on stable, in the
//! README's test command), so an input a fuzzer once found stays fixed. The fuzz targets themselves
//! (`fuzz/`, cargo-fuzz) need nightly and are not built here.

use std::path::Path;

#[test]
fn every_corpus_input_keeps_its_properties() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut replayed = 0;
    let mut broken = Vec::new();
    for target in localyun::fuzzing::TARGETS {
        let source = root.join("fuzz_targets").join(format!("{target}.rs"));
        assert!(source.is_file(), "{target}: no fuzz target {}", source.display());
        let corpus = root.join("corpus").join(target);
        let mut inputs: Vec<_> = std::fs::read_dir(&corpus)
            .unwrap_or_else(|e| panic!("{target}: no corpus at {}: {e}", corpus.display()))
            .map(|entry| entry.unwrap().path())
            .filter(|p| p.is_file())
            .collect();
        inputs.sort();
        assert!(!inputs.is_empty(), "{target}: the corpus is empty");
        for input in inputs {
            let data = std::fs::read(&input).unwrap();
            if let Err(e) = localyun::fuzzing::run(target, &data) {
                broken.push(format!("{}: {e}", input.display()));
            }
            replayed += 1;
        }
    }
    assert!(broken.is_empty(), "{} of {replayed} corpus inputs broke a property:\n{}", broken.len(), broken.join("\n"));
}

#[test]
fn every_corpus_folder_belongs_to_a_target() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    for entry in std::fs::read_dir(corpus).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(localyun::fuzzing::TARGETS.contains(&name.as_str()), "fuzz/corpus/{name} has no target");
    }
}
