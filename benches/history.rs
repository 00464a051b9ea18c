//! Benchmarks of the history computations: diffs at each granularity and blame.
//! Run with `cargo bench --bench history`; benches/RESULTS.md keeps the medians.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use palimpsest::blame::line_origins;
use palimpsest::textdiff::{DiffOptions, Granularity, diff};

/// A deterministic generator of article-like prose: paragraphs of words, one per line.
struct Prose(u64);

impl Prose {
    const WORDS: &'static [&'static str] = &[
        "the",
        "letter",
        "officials",
        "former",
        "security",
        "war",
        "Gaza",
        "appeal",
        "Trump",
        "diplomacy",
        "ceasefire",
        "hostage",
        "deal",
        "military",
        "political",
        "international",
        "pressure",
        "government",
        "strategy",
        "region",
        "warns",
        "signatories",
        "Netanyahu",
        "campaign",
        "legitimacy",
        "law",
        "under",
        "and",
        "of",
        "to",
        "in",
        "a",
        "that",
        "is",
    ];

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn word(&mut self) -> &'static str {
        Self::WORDS[(self.next() as usize) % Self::WORDS.len()]
    }

    fn paragraph(&mut self) -> String {
        let n = 40 + (self.next() % 60) as usize;
        let mut p: Vec<&str> = (0..n).map(|_| self.word()).collect();
        p[0] = "The";
        format!("{}.\n", p.join(" "))
    }

    fn text(&mut self, bytes: usize) -> String {
        let mut text = String::new();
        while text.len() < bytes {
            text.push_str(&self.paragraph());
        }
        text
    }

    /// A few word-level edits in a few paragraphs.
    fn edit(&mut self, text: &str, edits: usize) -> String {
        let mut lines: Vec<String> = text.lines().map(|l| format!("{l}\n")).collect();
        for _ in 0..edits {
            let i = (self.next() as usize) % lines.len();
            let mut words: Vec<String> = lines[i].split(' ').map(str::to_owned).collect();
            let j = (self.next() as usize) % words.len().max(1);
            words[j] = self.word().to_uppercase();
            lines[i] = words.join(" ");
            if !lines[i].ends_with('\n') {
                lines[i].push('\n');
            }
        }
        lines.concat()
    }
}

fn options(granularity: Granularity) -> DiffOptions {
    DiffOptions { granularity, ..DiffOptions::default() }
}

fn diffs(c: &mut Criterion) {
    let mut prose = Prose(7);
    let article = prose.text(8 * 1024);
    let edited = prose.edit(&article, 5);
    c.bench_function("diff word 8KB article, 5 edits", |b| {
        b.iter(|| diff(black_box(&article), black_box(&edited), &options(Granularity::Word)))
    });

    let big = prose.text(1024 * 1024);
    let big_edited = prose.edit(&big, 200);
    let mut group = c.benchmark_group("diff 1MB, 200 edits");
    group.sample_size(20);
    group.bench_function("line", |b| {
        b.iter(|| diff(black_box(&big), black_box(&big_edited), &options(Granularity::Line)))
    });
    group.bench_function("word", |b| {
        b.iter(|| diff(black_box(&big), black_box(&big_edited), &options(Granularity::Word)))
    });
    group.finish();
}

fn blame(c: &mut Criterion) {
    let mut prose = Prose(11);
    let mut history = vec![prose.text(8 * 1024)];
    for _ in 1..200 {
        let next = prose.edit(history.last().unwrap(), 3);
        history.push(next);
    }
    let texts: Vec<&str> = history.iter().map(String::as_str).collect();
    c.bench_function("blame 200 revisions of an 8KB article", |b| {
        b.iter(|| line_origins(black_box(&texts)))
    });
}

criterion_group!(benches, diffs, blame);
criterion_main!(benches);
