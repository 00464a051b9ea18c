//! Records made, written and read back; known digests computed by hand (Python's hashlib and
//! base64); malformed input refused with the error that says why; and the file checked by an
//! independent reader, warcio.

use std::io::Write;
use std::process::Command;

use flate2::Compression;
use flate2::write::GzEncoder;

use super::*;

const HEAD: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n";

const LIMITS: ReadLimits =
    ReadLimits { max_record_bytes: 1 << 20, max_records: 100, max_total_bytes: 1 << 20 };

fn capture(uri: &str) -> Capture {
    Capture {
        target_uri: Url::parse(uri).unwrap(),
        date: DateTime::parse_from_rfc3339("2025-01-02T03:04:05.25Z").unwrap().to_utc().into(),
        ip_address: Some("93.184.215.14".parse().unwrap()),
    }
}

fn get(path: &str) -> Request {
    let head =
        format!("GET {path} HTTP/1.1\r\nHost: example.org\r\nUser-Agent: palimpsest\r\n\r\n");
    Request::new(head.as_bytes(), Vec::new()).unwrap()
}

/// A first capture (request, response) and a second whose payload repeats (request, revisit).
fn exchanges() -> Vec<Record> {
    let first = capture("https://example.org/a");
    let answer = Response::new(HEAD, b"hello".to_vec()).unwrap();
    let original = response(&first, &answer);
    let asked = request(&first, &get("/a"), &original.id());
    let second = Capture { date: WarcDate::now(), ..capture("https://example.org/b") };
    let seen = revisit(&second, &answer, &original.original().unwrap()).unwrap();
    let asked_again = request(&second, &get("/b"), &seen.id());
    vec![warcinfo(first.date), asked, original, asked_again, seen]
}

fn text(record: &Record) -> String {
    String::from_utf8(write(record)).unwrap()
}

#[test]
fn records_written_gzip_or_plain_read_back_equal() {
    let records = exchanges();
    let gz: Vec<u8> = records.iter().flat_map(write_gz).collect();
    assert_eq!(read(&gz, LIMITS).unwrap(), records);
    let plain: Vec<u8> = records.iter().flat_map(write).collect();
    assert_eq!(read(&plain, LIMITS).unwrap(), records);
    assert_eq!(read(b"", LIMITS).unwrap(), []);
}

#[test]
fn digests_are_the_known_answers_in_the_form_warcio_checks() {
    let empty = "sha256:4OYMIQUY7QOBJGX36TEJS35ZEQT24QPEMSNZGTFESWMRW6CSXBKQ====";
    assert_eq!(Digest::of(b"").to_string(), empty);
    assert_eq!(Digest::parse(empty), Some(Digest::of(b"")));
    assert_eq!(Digest::parse(&empty.to_lowercase()), None);
    assert_eq!(Digest::parse(empty.trim_end_matches('=')), None);
    assert_eq!(Digest::parse(&empty.replace("sha256", "sha1")), None);

    let record =
        response(&capture("https://example.org/a"), &Response::new(HEAD, b"hello".into()).unwrap());
    let written = text(&record);
    assert!(written.contains(
        "WARC-Payload-Digest: sha256:FTZE3OS7WCRQ4JXIHMVMLOPCTYNRMHS4D6TUEXTTAQZWFE4LTASA====\r\n"
    ));
    assert!(written.contains(
        "WARC-Block-Digest: sha256:BD7KHBMWE63ZRPF3MVMZRMLXYR5PLXQPVON4GJYYCYI53QTNGACQ====\r\n"
    ));
    assert!(
        written.contains(
            "Content-Type: application/http;msgtype=response\r\nContent-Length: 69\r\n\r\n"
        )
    );
    assert!(written.contains("WARC-Date: 2025-01-02T03:04:05.250Z\r\n"));
    assert!(written.contains("WARC-IP-Address: 93.184.215.14\r\n"));
    assert!(written.contains("WARC-Target-URI: https://example.org/a\r\n"));
    assert!(written.starts_with("WARC/1.1\r\nWARC-Type: response\r\n"));
}

#[test]
fn a_request_is_concurrent_to_its_response_and_a_revisit_holds_only_the_head() {
    let records = exchanges();
    let (original, seen) = (&records[2], &records[4]);
    assert_eq!(records[1].concurrent_to(), [original.id()]);
    assert!(text(&records[1]).contains(&format!("WARC-Concurrent-To: <{}>\r\n", original.id())));

    assert_eq!(seen.block(), HEAD);
    assert_eq!(seen.payload_digest(), original.payload_digest());
    assert_eq!(
        seen.block_digest().to_string(),
        "sha256:CEUZXYKNI55L6QMY2KJQDWP5FWQHS2TDCURCB5WBO5CU746NWSQA===="
    );
    let written = text(seen);
    for field in [
        "WARC-Type: revisit\r\n".to_string(),
        format!("WARC-Refers-To: <{}>\r\n", original.id()),
        "WARC-Refers-To-Target-URI: https://example.org/a\r\n".into(),
        "WARC-Refers-To-Date: 2025-01-02T03:04:05.250Z\r\n".into(),
        "WARC-Profile: http://netpreserve.org/warc/1.1/revisit/identical-payload-digest\r\n".into(),
        format!("Content-Length: {}\r\n", HEAD.len()),
    ] {
        assert!(written.contains(&field), "{field:?} missing from {written}");
    }
    assert!(!written.contains("WARC-Truncated"));

    let other = Response::new(HEAD, b"world".to_vec()).unwrap();
    let refused = revisit(&capture("https://example.org/c"), &other, &original.original().unwrap());
    assert!(matches!(refused, Err(WarcError::NotIdentical { .. })));
    assert_eq!(seen.original(), None, "a revisit is not itself an original");
}

#[test]
fn chunked_framing_is_renamed_and_other_transfer_codings_kept() {
    let chunked = b"HTTP/1.1 200 OK\r\ntransfer-encoding:  chunked\r\nVary: *\r\n\r\n";
    let response = Response::new(chunked, b"de-chunked".to_vec()).unwrap();
    let expected =
        b"HTTP/1.1 200 OK\r\nX-Palimpsest-Orig-transfer-encoding:  chunked\r\nVary: *\r\n\r\n";
    assert_eq!(response.head(), expected);
    let both = b"HTTP/1.0 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n";
    let response = Response::new(both, Vec::new()).unwrap();
    let expected = b"HTTP/1.0 200 OK\r\nX-Palimpsest-Orig-Transfer-Encoding: gzip, Chunked\r\n\
        Transfer-Encoding: gzip\r\n\r\n";
    assert_eq!(response.head(), expected);
}

#[test]
fn heads_that_are_not_one_http_1_head_are_refused() {
    for head in [
        &b"HTTP/1.1 200 OK\r\nA: b\r\n"[..],
        b"HTTP/2 200\r\n\r\n",
        b"HTTP/1.1 20 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\nA: b\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nA: b\rC: d\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n\r\nA: b\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
    ] {
        let refused = Response::new(head, Vec::new());
        assert!(
            matches!(refused, Err(WarcError::HttpHead(_))),
            "{:?}",
            String::from_utf8_lossy(head)
        );
    }
    for head in [&b"GET /a HTTP/1.1\r\n"[..], b"GET  /a HTTP/1.1\r\n\r\n", b"GET /a HTTP/3\r\n\r\n"]
    {
        assert!(matches!(Request::new(head, Vec::new()), Err(WarcError::HttpHead(_))));
    }
}

#[test]
fn malformed_or_oversized_input_is_refused_with_the_reason() {
    let records = exchanges();
    let gz = write_gz(&records[2]);
    let err = |bytes: &[u8], limits| read(bytes, limits).unwrap_err();

    assert!(matches!(err(&gz[..gz.len() - 10], LIMITS), WarcError::Gzip(_)), "a truncated trailer");
    assert!(matches!(err(&gz[..gz.len() / 2], LIMITS), WarcError::Gzip(_)), "a truncated member");
    assert!(matches!(err(&[gz.clone(), b"junk".to_vec()].concat(), LIMITS), WarcError::Gzip(_)));
    assert_eq!(err(b"<html>", LIMITS), WarcError::NotWarc);

    let plain = text(&records[2]);
    let shorter = plain.replace("Content-Length: 69", "Content-Length: 68");
    assert_eq!(err(shorter.as_bytes(), LIMITS), WarcError::LengthMismatch { offset: 0 });
    let longer = plain.replace("Content-Length: 69", "Content-Length: 70");
    assert_eq!(err(longer.as_bytes(), LIMITS), WarcError::Truncated { offset: 0 });
    assert_eq!(
        err(&write(&records[2])[..plain.len() - 1], LIMITS),
        WarcError::Truncated { offset: 0 }
    );

    let tampered = plain.replace("hello", "jello");
    let WarcError::DigestMismatch { id, part: DigestOf::Block, .. } =
        err(tampered.as_bytes(), LIMITS)
    else {
        panic!("a changed block passes");
    };
    assert_eq!(id, records[2].id());
    // The block digest made to match the changed block: the payload digest still catches it.
    let block = &tampered.as_bytes()[tampered.len() - 4 - 69..tampered.len() - 4];
    let tampered =
        tampered.replace(&records[2].block_digest().to_string(), &Digest::of(block).to_string());
    assert!(matches!(
        err(tampered.as_bytes(), LIMITS),
        WarcError::DigestMismatch { part: DigestOf::Payload, .. }
    ));

    for (field, bad) in [
        ("WARC-Block-Digest: sha256:", "WARC-Block-Digest: sha1:"),
        ("WARC-Date: 2025-01-02T03:04:05.250Z", "WARC-Date: 2025-01-02T03:04:05+01:00"),
        ("WARC-Type: response", "WARC-Type: response\r\nWARC-Type: request"),
        ("WARC-Type: response", "WARC-Type: response\r\nWARC-Truncated: length"),
        ("WARC-Type: response", "WARC-Type: response\r\nnot a field"),
        ("WARC/1.1", "WARC/2.0"),
    ] {
        let bad = plain.replace(field, bad);
        assert!(
            matches!(err(bad.as_bytes(), LIMITS), WarcError::Malformed { offset: 0, .. }),
            "{bad}"
        );
    }
    let no_digest =
        plain.replace(&format!("WARC-Block-Digest: {}\r\n", records[2].block_digest()), "");
    assert!(matches!(err(no_digest.as_bytes(), LIMITS), WarcError::Malformed { .. }));

    let all: Vec<u8> = records.iter().flat_map(write_gz).collect();
    let few = ReadLimits { max_records: 4, ..LIMITS };
    assert_eq!(err(&all, few), WarcError::TooManyRecords { limit: 4 });
    let small = ReadLimits { max_record_bytes: 100, ..LIMITS };
    assert_eq!(err(&all, small), WarcError::RecordTooLarge { offset: 0, limit: 100 });
    let huge = plain.replace("Content-Length: 69", "Content-Length: 2000000");
    assert_eq!(
        err(huge.as_bytes(), LIMITS),
        WarcError::RecordTooLarge { offset: 0, limit: 1 << 20 }
    );
}

#[test]
fn a_gzip_bomb_stops_at_the_decompression_bound() {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(b"WARC/1.1\r\nContent-Length: 4000000\r\n\r\n").unwrap();
    encoder.write_all(&vec![0; 4_000_000]).unwrap();
    let bomb = encoder.finish().unwrap();
    assert!(bomb.len() < 10_000);
    assert_eq!(read(&bomb, LIMITS).unwrap_err(), WarcError::TooLarge { limit: 1 << 20 });
}

/// The file `capture.warc.gz` will be, checked by warcio: every digest verified, every record
/// indexed with its type and target, and the page's payload decoded from its content coding.
#[test]
#[cfg_attr(palimpsest_no_warcio, ignore = "needs Python's warcio (pip install warcio)")]
fn warcio_checks_and_indexes_the_records() {
    let first = capture("https://example.org/page?q=1");
    let mut page = GzEncoder::new(Vec::new(), Compression::default());
    page.write_all(b"<p>captured</p>").unwrap();
    let head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\n\
        Transfer-Encoding: chunked\r\n\r\n";
    let answer = Response::new(head, page.finish().unwrap()).unwrap();
    let original = response(&first, &answer);
    let second = capture("https://example.org/again");
    let seen = revisit(&second, &answer, &original.original().unwrap()).unwrap();
    let records = [
        warcinfo(first.date),
        request(&first, &get("/page?q=1"), &original.id()),
        original,
        request(&second, &get("/again"), &seen.id()),
        seen,
    ];
    let dir = std::env::temp_dir().join(format!("palimpsest-warc-{}", RecordId::new().uuid()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("capture.warc.gz");
    std::fs::write(&file, records.iter().flat_map(write_gz).collect::<Vec<u8>>()).unwrap();
    let warcio = |args: &[&str]| {
        let output = Command::new("warcio").args(args).arg(&file).output().unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        eprintln!(
            "warcio {}:\n{stdout}{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(output.status.success(), "warcio {args:?} failed");
        stdout
    };

    let checked = warcio(&["check", "-v"]);
    assert_eq!(checked.matches("digest pass").count(), 4, "{checked}");
    assert_eq!(checked.matches("digest present but not checked (revisit)").count(), 1);

    // The default fields: length, offset, warc-type, warc-target-uri.
    let index = warcio(&["index"]);
    let lines: Vec<serde_json::Value> =
        index.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    let listed: Vec<(&str, Option<&str>)> = lines
        .iter()
        .map(|line| (line["warc-type"].as_str().unwrap(), line["warc-target-uri"].as_str()))
        .collect();
    let (page, again) = (Some("https://example.org/page?q=1"), Some("https://example.org/again"));
    assert_eq!(
        listed,
        [
            ("warcinfo", None),
            ("request", page),
            ("response", page),
            ("request", again),
            ("revisit", again)
        ]
    );

    let offset = lines[2]["offset"].to_string().trim_matches('"').to_owned();
    let output = Command::new("warcio")
        .args(["extract", "--payload"])
        .arg(&file)
        .arg(&offset)
        .output()
        .unwrap();
    assert_eq!(output.stdout, b"<p>captured</p>", "the payload a replayer serves, decoded");
    std::fs::remove_dir_all(&dir).unwrap();
}
