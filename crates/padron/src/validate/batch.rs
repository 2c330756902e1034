//! `padron validate --batch`: JSON lines on stdin, one JSON verdict line on stdout per input
//! line, in order. A bad line is answered, never fatal.
//!
//! The work is a small pipeline: one thread reads stdin into chunks of whole lines, a few
//! workers (one per core) check a chunk each and write its answers into a buffer, and the
//! calling thread writes those buffers out in input order. Every queue between them is bounded
//! and every chunk is at most [`CHUNK`] plus one line, so memory stays flat however many lines
//! come. Lines are read and answered by [`json`].

mod json;

use std::borrow::Cow;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::num::NonZeroUsize;
use std::process::ExitCode;
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError};
use std::thread;

use padron_domain::{
    Checked, Country, DocumentNumber, DocumentType, EmailAddress, IdentityKind, Issue, PhoneNumber,
    ValidationLevel, address, check_document_type,
};

use json::{Field, Line, LineError};

/// Longest input line kept. Every field checked is at most a few hundred characters, so a longer
/// line cannot be valid; it is skipped while reading (not stored) and answered with `tooLong`,
/// which keeps memory bounded even for input without newlines.
pub const MAX_LINE: usize = 64 * 1024;

/// Size of one read from stdin: a million short lines cost about a thousand system calls.
const IO_BUFFER: usize = 32 * 1024;

/// A chunk is handed to a worker once it holds this many bytes of whole lines (about 400 lines
/// of the usual shape), or earlier when the next read may block. A chunk is at most one read
/// plus one unfinished line larger than this.
const CHUNK: usize = 32 * 1024;

/// Room for a chunk: whole lines up to [`CHUNK`], then one more read. Allocated at this size
/// so that it never grows while lines are appended (a chunk only outgrows it with a line
/// longer than a read): growing a buffer of this size means remapping memory, which all the
/// threads' CPUs must be told about.
const CHUNK_CAPACITY: usize = CHUNK + IO_BUFFER;

/// Room for the answers to a chunk, for the same reason: answers run two to four times the size
/// of the lines they answer.
const ANSWERS_CAPACITY: usize = 4 * CHUNK_CAPACITY;

/// Chunks waiting for each worker, and answers waiting for the writer, per worker.
const QUEUE: usize = 1;

/// Used buffers kept for reuse, per worker: enough for every buffer a worker can have in
/// flight, so that after the first few chunks none is allocated.
const SPARES: usize = QUEUE + 2;

/// The default number of workers: one per core, at most 8.
pub fn default_jobs() -> NonZeroUsize {
    let cores = thread::available_parallelism().map_or(1, NonZeroUsize::get);
    NonZeroUsize::new(cores.min(8)).unwrap_or(NonZeroUsize::MIN)
}

/// Runs the batch over stdin and stdout with `jobs` workers: exit code 0 when every line was
/// valid, 1 when at least one was not, 2 when reading or writing failed.
pub fn run(level: ValidationLevel, jobs: NonZeroUsize) -> ExitCode {
    // No extra buffering: answers come in blocks of whole lines, which stdout's line buffer
    // passes straight to one `write`.
    let mut output = io::stdout().lock();
    match process(io::stdin(), &mut output, level, jobs) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        // The reader went away (`… | head`): nobody is left to tell.
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => ExitCode::from(2),
        Err(err) => {
            eprintln!("error: padron validate --batch failed: {err}");
            ExitCode::from(2)
        }
    }
}

/// Whole input lines, each ending in `\n`. A line that grew past [`MAX_LINE`] before its end
/// was read is stored empty, and its offset in `data` is listed in `too_long`.
#[derive(Debug, Default)]
struct Chunk {
    data: Vec<u8>,
    too_long: Vec<usize>,
}

/// The answers to one chunk, and whether every line in it was valid.
struct Answers {
    data: Vec<u8>,
    all_valid: bool,
}

/// Checks every line of `input`, writing one verdict line per input line to `output`, in order.
/// Returns whether every line was valid; `Err` only when reading or writing fails.
///
/// Output is flushed whenever the writer would otherwise wait, so a program that feeds lines
/// through a pipe and waits for their answers gets them, while a file is still read and written
/// in large blocks. On a write failure this returns at once: the reader and worker threads are
/// left to stop on their own when they next hand over work (or with the process).
pub fn process<R: Read + Send + 'static>(
    input: R,
    output: &mut impl Write,
    level: ValidationLevel,
    jobs: NonZeroUsize,
) -> io::Result<bool> {
    process_with(input, output, level, jobs, check_line)
}

/// One input line without its newline: text when it is UTF-8, the bytes when it is not.
type LineInput<'a> = Result<&'a str, &'a [u8]>;

/// How one line is checked: [`check_line`], or a stand-in in tests.
type Check = fn(LineInput<'_>, ValidationLevel, &mut Verdict);

/// [`process`] with the line check given.
fn process_with<R: Read + Send + 'static>(
    input: R,
    output: &mut impl Write,
    level: ValidationLevel,
    jobs: NonZeroUsize,
    check: Check,
) -> io::Result<bool> {
    let mut to_workers = Vec::with_capacity(jobs.get());
    let mut from_workers = Vec::with_capacity(jobs.get());
    let mut spare_outputs = Vec::with_capacity(jobs.get());
    let mut workers = Vec::with_capacity(jobs.get());
    // Buffers go back where they came from once used (read chunks to the reader, written
    // answers to their worker), so a run works in the same few pages of memory instead of
    // having fresh ones mapped and zeroed by the kernel for every chunk.
    let (free_tx, free_rx) = mpsc::sync_channel::<Vec<u8>>(SPARES * jobs.get());
    for _ in 0..jobs.get() {
        let (chunk_tx, chunk_rx) = mpsc::sync_channel::<Chunk>(QUEUE);
        let (answer_tx, answer_rx) = mpsc::sync_channel::<Answers>(QUEUE);
        let (spare_tx, spare_rx) = mpsc::sync_channel::<Vec<u8>>(SPARES);
        let used = free_tx.clone();
        workers.push(thread::spawn(move || {
            check_chunks(&chunk_rx, &answer_tx, &spare_rx, &used, level, check)
        }));
        to_workers.push(chunk_tx);
        from_workers.push(answer_rx);
        spare_outputs.push(spare_tx);
    }
    drop(free_tx);
    let reader = thread::spawn(move || read_chunks(input, &to_workers, &free_rx));
    let mut all_valid = true;
    // Chunk n went to worker n % jobs, so taking answers round-robin restores the input order.
    // The first worker found finished has answered everything the reader sent (or panicked).
    let mut ended = 0;
    for n in 0.. {
        ended = n % from_workers.len();
        let from = &from_workers[ended];
        let answers = match from.try_recv() {
            Ok(answers) => answers,
            Err(TryRecvError::Disconnected) => break,
            Err(TryRecvError::Empty) => {
                output.flush()?;
                match from.recv() {
                    Ok(answers) => answers,
                    Err(mpsc::RecvError) => break,
                }
            }
        };
        all_valid &= answers.all_valid;
        output.write_all(&answers.data)?;
        // Full (or the worker is gone): the buffer is simply freed.
        let _ = spare_outputs[ended].try_send(answers.data);
    }
    output.flush()?;
    // A worker that panicked ended the loop early, and the panic goes on (exit 101) instead of a
    // run that looks complete. That worker is joined first: the others may still be waiting for
    // chunks from a reader waiting for input on an idle pipe. Then hanging up on the others
    // unblocks them and the reader.
    let mut workers: Vec<_> = workers.into_iter().map(Some).collect();
    if let Some(Err(panic)) = workers[ended].take().map(thread::JoinHandle::join) {
        std::panic::resume_unwind(panic);
    }
    drop(from_workers);
    for worker in workers.into_iter().flatten() {
        if let Err(panic) = worker.join() {
            std::panic::resume_unwind(panic);
        }
    }
    match reader.join() {
        Ok(read) => read.map(|()| all_valid),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// The reader thread: cuts `input` into chunks of whole lines and deals them to the workers in
/// turn. Returns when the input ends (or a worker is gone, which only happens when the writer
/// gave up).
///
/// It works on whole blocks, not lines: a block is appended to the chunk and only its last
/// newline is looked for, so the reader costs next to nothing per line. The one line it must
/// follow is an unfinished one that grows past [`MAX_LINE`]: that line is dropped while it is
/// read and marked in `too_long`, which is what bounds memory on input without newlines.
fn read_chunks<R: Read>(
    input: R,
    workers: &[SyncSender<Chunk>],
    used: &Receiver<Vec<u8>>,
) -> io::Result<()> {
    let mut input = BufReader::with_capacity(IO_BUFFER, input);
    let mut sent = 0usize;
    let mut chunk = Chunk {
        data: Vec::with_capacity(CHUNK_CAPACITY),
        too_long: Vec::new(),
    };
    // `chunk.data[..complete]` holds whole lines; the rest is the start of an unfinished one.
    let mut complete = 0;
    // Discarding the rest of a line that already proved too long.
    let mut skipping = false;
    // Hands over the whole lines of `chunk`, keeping the unfinished one. `false` when the
    // worker is gone.
    let mut hand_over = |chunk: &mut Chunk, complete: &mut usize| -> bool {
        let mut rest = used
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(CHUNK_CAPACITY));
        rest.clear();
        rest.extend_from_slice(&chunk.data[*complete..]);
        chunk.data.truncate(*complete);
        let full = std::mem::replace(
            chunk,
            Chunk {
                data: rest,
                too_long: Vec::new(),
            },
        );
        *complete = 0;
        let ok = workers[sent % workers.len()].send(full).is_ok();
        sent += 1;
        ok
    };
    loop {
        // The next read may block: every whole line read so far goes to the workers first.
        if input.buffer().is_empty() && complete > 0 && !hand_over(&mut chunk, &mut complete) {
            return Ok(());
        }
        let available = match input.fill_buf() {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        if available.is_empty() {
            // The end: a last line without a newline still counts.
            if skipping {
                chunk.too_long.push(chunk.data.len());
                chunk.data.push(b'\n');
            } else if chunk.data.len() > complete {
                chunk.data.push(b'\n');
            }
            if !chunk.data.is_empty() {
                complete = chunk.data.len();
                hand_over(&mut chunk, &mut complete);
            }
            return Ok(());
        }
        let used = available.len();
        if skipping {
            if let Some(end) = memchr::memchr(b'\n', available) {
                input.consume(end + 1);
                skipping = false;
                chunk.too_long.push(chunk.data.len());
                chunk.data.push(b'\n');
                complete = chunk.data.len();
            } else {
                input.consume(used);
            }
            continue;
        }
        let before = chunk.data.len();
        chunk.data.extend_from_slice(available);
        input.consume(used);
        if let Some(last) = memchr::memrchr(b'\n', &chunk.data[before..]) {
            complete = before + last + 1;
        }
        if chunk.data.len() - complete > MAX_LINE {
            chunk.data.truncate(complete);
            skipping = true;
        }
        if complete >= CHUNK && !hand_over(&mut chunk, &mut complete) {
            return Ok(());
        }
    }
}

/// A worker thread: answers chunks until the reader is done (or the writer is gone). Answers
/// are written into buffers the writer hands back (`spare`), and read chunks go back to the
/// reader (`used`), whenever those queues have room.
fn check_chunks(
    chunks: &Receiver<Chunk>,
    answers: &SyncSender<Answers>,
    spare: &Receiver<Vec<u8>>,
    used: &SyncSender<Vec<u8>>,
    level: ValidationLevel,
    check: Check,
) {
    let mut verdict = Verdict::default();
    while let Ok(chunk) = chunks.recv() {
        let mut out = spare
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(ANSWERS_CAPACITY));
        out.clear();
        out.reserve(chunk.data.len() * 4);
        let mut all_valid = true;
        let mut too_long = chunk.too_long.iter().copied().peekable();
        // One UTF-8 check for the whole chunk, as there nearly always is nothing to find: a
        // newline is ASCII, so every line of valid text is valid text. Otherwise line by line.
        let text = std::str::from_utf8(&chunk.data).ok();
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', &chunk.data) {
            verdict.clear();
            // Dropped while reading, or long but read in one block: the same answer.
            if too_long.next_if_eq(&start).is_some() || end - start > MAX_LINE {
                verdict.error(
                    "line",
                    "tooLong",
                    format!("the line is longer than {MAX_LINE} bytes"),
                );
            } else {
                let bytes = &chunk.data[start..end];
                let line = match text {
                    Some(text) => Ok(&text[start..end]),
                    None => std::str::from_utf8(bytes).map_err(|_| bytes),
                };
                check(line, level, &mut verdict);
            }
            start = end + 1;
            all_valid &= verdict.is_valid();
            verdict.write_json(&mut out);
        }
        let mut data = chunk.data;
        data.clear();
        let _ = used.try_send(data);
        if answers
            .send(Answers {
                data: out,
                all_valid,
            })
            .is_err()
        {
            return;
        }
    }
}

/// One problem with one field (`errors[]` and `warnings[]`), as the API reports them.
#[derive(Debug)]
struct Problem {
    field: Cow<'static, str>,
    code: &'static str,
    detail: Cow<'static, str>,
}

/// The answer for one line; kept across lines so its vectors are allocated once.
#[derive(Debug, Default)]
struct Verdict {
    /// Canonical values of the fields that passed, in a fixed order.
    canonical: Vec<(&'static str, Cow<'static, str>)>,
    errors: Vec<Problem>,
    warnings: Vec<Problem>,
    /// JSON already written for fixed texts, reused line after line.
    rendered: Rendered,
    /// The layout of the lines being read.
    shape: json::Shape,
}

impl Verdict {
    fn clear(&mut self) {
        self.canonical.clear();
        self.errors.clear();
        self.warnings.clear();
    }

    fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }

    fn error(
        &mut self,
        field: impl Into<Cow<'static, str>>,
        code: &'static str,
        detail: impl Into<Cow<'static, str>>,
    ) {
        self.errors.push(Problem {
            field: field.into(),
            code,
            detail: detail.into(),
        });
    }

    fn issue(&mut self, field: &'static str, issue: Issue) {
        self.error(field, issue.code, issue.detail);
    }

    fn warning(&mut self, field: impl Into<Cow<'static, str>>, issue: Issue) {
        self.warnings.push(Problem {
            field: field.into(),
            code: issue.code,
            detail: issue.detail,
        });
    }

    fn canonical(&mut self, field: &'static str, value: impl Into<Cow<'static, str>>) {
        self.canonical.push((field, value.into()));
    }

    /// Applies `level` to a validator's result: the canonical value on success, every problem
    /// otherwise. Structural mode turns strict failures into warnings, as the sandbox does.
    fn apply<T>(
        &mut self,
        field: &'static str,
        level: ValidationLevel,
        result: Result<Checked<T>, Issue>,
    ) -> Option<T> {
        match result.map(|checked| checked.at_level(level)) {
            Err(issue) => {
                self.issue(field, issue);
                None
            }
            Ok(Err(issues)) => {
                for issue in issues {
                    self.issue(field, issue);
                }
                None
            }
            Ok(Ok((value, warnings))) => {
                for w in warnings {
                    self.warning(field, w);
                }
                Some(value)
            }
        }
    }

    /// Appends the verdict as one JSON line:
    /// `{"valid":…,"canonical":{…},"errors":[…],"warnings":[…]}`.
    fn write_json(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(if self.is_valid() {
            b"{\"valid\":true,\"canonical\":{"
        } else {
            b"{\"valid\":false,\"canonical\":{"
        });
        for (i, (field, value)) in self.canonical.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let write = |out: &mut Vec<u8>| {
                json::write_plain(out, field);
                out.push(b':');
                json::write_str(out, value);
            };
            match value {
                Cow::Borrowed(value) => self.rendered.write(out, [field, "", value], write),
                Cow::Owned(_) => write(out),
            }
        }
        out.extend_from_slice(b"},\"errors\":[");
        write_problems(out, &self.errors, &mut self.rendered);
        out.extend_from_slice(b"],\"warnings\":[");
        write_problems(out, &self.warnings, &mut self.rendered);
        out.extend_from_slice(b"]}\n");
    }
}

fn write_problems(out: &mut Vec<u8>, problems: &[Problem], rendered: &mut Rendered) {
    for (i, p) in problems.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let write = |out: &mut Vec<u8>| {
            out.extend_from_slice(b"{\"field\":");
            json::write_str(out, &p.field);
            out.extend_from_slice(b",\"code\":");
            json::write_plain(out, p.code);
            out.extend_from_slice(b",\"detail\":");
            json::write_str(out, &p.detail);
            out.push(b'}');
        };
        match (&p.field, &p.detail) {
            (Cow::Borrowed(field), Cow::Borrowed(detail)) => {
                rendered.write(out, [field, p.code, detail], write);
            }
            _ => write(out),
        }
    }
}

/// The JSON of fixed texts — a problem whose field, code and detail are all constants, a
/// canonical field whose value is a constant (a country code, a document type) — written once
/// and then copied whole: most lines of a batch repeat a few dozen such pieces, and one copy is
/// far cheaper than writing and escaping three strings. A small table indexed by the texts'
/// addresses (they are `'static`, so an address and length name one text for good); a piece
/// that meets another in its slot is simply written again.
/// The [`address`] of each of a rendered piece's three texts.
type RenderedKey = [(usize, usize); 3];

#[derive(Debug)]
struct Rendered {
    slots: Vec<Option<(RenderedKey, Vec<u8>)>>,
}

impl Default for Rendered {
    fn default() -> Self {
        Rendered {
            slots: vec![None; Self::SLOTS],
        }
    }
}

impl Rendered {
    const SLOTS: usize = 64;

    /// Appends the JSON of `texts`, as `write` writes it.
    fn write(
        &mut self,
        out: &mut Vec<u8>,
        texts: [&'static str; 3],
        write: impl FnOnce(&mut Vec<u8>),
    ) {
        let key = texts.map(|t| address::of(t.as_bytes()));
        let slot = &mut self.slots[address::slot(&key, Self::SLOTS)];
        match slot {
            Some((cached, json)) if *cached == key => out.extend_from_slice(json),
            _ => {
                let start = out.len();
                write(out);
                *slot = Some((key, out[start..].to_vec()));
            }
        }
    }
}

/// A field's text, trimmed (spec §6.1: strings are trimmed), or `None` after recording why it
/// cannot be used. Absent fields record nothing: the caller knows whether they were needed.
fn text<'f>(verdict: &mut Verdict, name: &'static str, field: &'f Field<'_>) -> Option<&'f str> {
    match field {
        Field::Absent => None,
        Field::Text(t) => Some(padron_domain::trim(t)),
        Field::Wrong(what) => {
            verdict.error(
                name,
                "invalidType",
                format!("{name} must be a string, not {what}"),
            );
            None
        }
    }
}

fn required(verdict: &mut Verdict, name: &'static str, for_what: &str) {
    verdict.error(
        name,
        "required",
        format!("{name} is required to check {for_what}"),
    );
}

/// Checks one line into `verdict`.
fn check_line(raw: LineInput<'_>, level: ValidationLevel, verdict: &mut Verdict) {
    let raw = raw.map(str::trim_ascii).map_err(<[u8]>::trim_ascii);
    if raw.is_ok_and(str::is_empty) || raw.is_err_and(<[u8]>::is_empty) {
        verdict.error("line", "empty", "the line is empty; expected a JSON object");
        return;
    }
    let mut line = Line::default();
    match json::parse_line(raw, &mut line, &mut verdict.shape) {
        Ok(()) => {}
        Err(LineError::NotAnObject) => {
            verdict.error("line", "invalidType", "the line must be a JSON object");
            return;
        }
        Err(LineError::Invalid(err)) => {
            verdict.error(
                "line",
                "invalidJson",
                format!("the line is not valid JSON: {err}"),
            );
            return;
        }
    };
    for name in &line.unknown {
        let detail = format!("{name} is not a field this command checks; ignored");
        verdict.warning(name.to_string(), Issue::new("unknownField", detail));
    }
    let wanted = [
        &line.country,
        &line.kind,
        &line.document_type,
        &line.document_number,
        &line.phone,
        &line.email,
    ];
    if !wanted.iter().any(|f| f.is_present()) {
        verdict.error(
            "line",
            "nothingToCheck",
            "give documentNumber (with country and documentType), phone (with country) or email",
        );
        return;
    }

    // `Err(())` marks a country that was given but unusable: its own error is already recorded,
    // so the fields that depend on it are not blamed a second time.
    let country = match text(verdict, "country", &line.country) {
        None if line.country.is_present() => Err(()),
        None => Ok(None),
        Some(raw) => match Country::parse(raw) {
            Ok(c) => {
                verdict.canonical("country", c.alpha3());
                Ok(Some(c))
            }
            Err(issue) => {
                verdict.issue("country", issue);
                Err(())
            }
        },
    };
    let kind = text(verdict, "type", &line.kind).and_then(|raw| match IdentityKind::parse(raw) {
        Some(k) => {
            verdict.canonical("type", k.as_str());
            Some(k)
        }
        None => {
            verdict.error("type", "invalidValue", "type must be USER or ORGANIZATION");
            None
        }
    });
    check_document(&line, country, kind, level, verdict);
    if line.phone.is_present()
        && let Some(raw) = text(verdict, "phone", &line.phone)
    {
        match country {
            Ok(Some(c)) => {
                if let Some(p) = verdict.apply("phone", level, PhoneNumber::parse(raw, c)) {
                    verdict.canonical("phone", p.as_str().to_owned());
                }
            }
            Ok(None) => required(verdict, "country", "phone"),
            Err(()) => {}
        }
    }
    if let Some(raw) = text(verdict, "email", &line.email)
        && let Some(e) = verdict.apply("email", level, EmailAddress::parse(raw))
    {
        verdict.canonical("email", e.as_str().to_owned());
    }
}

/// The `documentType` + `documentNumber` pair, which needs `country` (and is checked against
/// `type` when the line gives one).
fn check_document(
    line: &Line<'_>,
    country: Result<Option<Country>, ()>,
    kind: Option<IdentityKind>,
    level: ValidationLevel,
    verdict: &mut Verdict,
) {
    if !line.document_type.is_present() && !line.document_number.is_present() {
        return;
    }
    let doc_type = match text(verdict, "documentType", &line.document_type) {
        Some(raw) => match DocumentType::parse(raw) {
            Some(t) => Some(t),
            None => {
                verdict.error(
                    "documentType",
                    "unknownDocumentType",
                    "documentType is not a known document type",
                );
                None
            }
        },
        None => {
            if !line.document_type.is_present() {
                required(verdict, "documentType", "documentNumber");
            }
            None
        }
    };
    let number = match text(verdict, "documentNumber", &line.document_number) {
        Some(raw) => Some(raw),
        None => {
            if !line.document_number.is_present() {
                required(verdict, "documentNumber", "documentType");
            }
            None
        }
    };
    let country = match country {
        Ok(Some(c)) => c,
        Ok(None) => {
            required(verdict, "country", "documentNumber");
            return;
        }
        Err(()) => return,
    };
    let (Some(doc_type), Some(number)) = (doc_type, number) else {
        return;
    };
    if let Some(kind) = kind
        && let Err(issue) = check_document_type(country, kind, doc_type)
    {
        verdict.issue("documentType", issue);
        return;
    }
    let parsed = DocumentNumber::parse(country, doc_type, number);
    // The one structural failure that is about the type, not the number.
    if let Err(issue) = &parsed
        && issue.code == "unsupportedForCountry"
    {
        verdict.issue("documentType", issue.clone());
        return;
    }
    verdict.canonical("documentType", doc_type.as_str());
    if let Some(d) = verdict.apply("documentNumber", level, parsed) {
        verdict.canonical("documentNumber", d.into_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn jobs(n: usize) -> NonZeroUsize {
        NonZeroUsize::new(n).unwrap()
    }

    /// A worker that panics must not leave a run that looks complete: the panic reaches the
    /// caller (the process exits 101), with more chunks queued behind it and any number of
    /// workers, instead of a short output and a success.
    #[test]
    fn a_panicking_worker_fails_the_run_instead_of_cutting_it_short() {
        fn explode_on_line_900(raw: LineInput<'_>, level: ValidationLevel, verdict: &mut Verdict) {
            assert_ne!(raw, Ok("{\"n\":900}"), "validator bug");
            check_line(raw, level, verdict);
        }
        /// Whether the run over `input` panicked, as it must.
        fn panics(input: impl Read + Send + 'static, workers: usize) -> bool {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let mut out = Vec::new();
                let jobs = jobs(workers);
                process_with(
                    input,
                    &mut out,
                    ValidationLevel::Strict,
                    jobs,
                    explode_on_line_900,
                )
            }))
            .is_err()
        }
        let line = |n: usize| format!("{{\"n\":{n}}}\n").into_bytes();
        let input: Vec<u8> = (0..5_000).flat_map(line).collect();
        for workers in [1, 2, 3] {
            let ended = panics(std::io::Cursor::new(input.clone()), workers);
            assert!(ended, "{workers} workers: the run ended as if complete");
        }
        // The same while the input stays open and idle (a pipe whose writer waits for its
        // answers): the run must not wait for the reader.
        for workers in [1, 2, 3] {
            let (line_tx, line_rx) = mpsc::channel::<Vec<u8>>();
            for n in 895..905 {
                line_tx.send(line(n)).unwrap();
            }
            let ended = panics(Trickle(line_rx), workers);
            assert!(
                ended,
                "{workers} workers, idle input: the run ended as if complete"
            );
            // Only now may the input end (the abandoned reader then stops too).
            drop(line_tx);
        }
    }

    fn run_raw(input: &[u8], level: ValidationLevel, workers: usize) -> (bool, Vec<u8>) {
        let mut out = Vec::new();
        let input = std::io::Cursor::new(input.to_vec());
        let ok = process(input, &mut out, level, jobs(workers)).expect("in-memory IO");
        (ok, out)
    }

    /// Runs the batch with one worker and with three: the answers must be the same bytes.
    fn run_batch(input: &[u8], level: ValidationLevel) -> (bool, Vec<Value>) {
        let (ok, out) = run_raw(input, level, 1);
        assert_eq!(
            (ok, &out),
            (run_raw(input, level, 3).0, &run_raw(input, level, 3).1)
        );
        let lines = String::from_utf8(out)
            .expect("UTF-8 output")
            .lines()
            .map(|l| serde_json::from_str(l).expect("each output line is JSON"))
            .collect();
        (ok, lines)
    }

    fn one(line: &str) -> Value {
        let (_, mut lines) = run_batch(line.as_bytes(), ValidationLevel::Strict);
        assert_eq!(lines.len(), 1, "{line}");
        lines.remove(0)
    }

    fn codes(v: &Value, key: &str) -> Vec<(String, String)> {
        v[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["field"].as_str().unwrap().to_owned(),
                    e["code"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn a_line_with_every_field_gives_every_canonical_value() {
        let v = one(
            r#"{"country":"chl","type":"USER","documentType":"run","documentNumber":"17.604.011-4","phone":"+56 9 6123 4567","email":"Ana@Example.COM"}"#,
        );
        assert_eq!(
            v,
            json!({"valid": true, "canonical": {
                "country": "CHL", "type": "USER", "documentType": "RUT",
                "documentNumber": "17604011-4", "phone": "+56961234567", "email": "Ana@example.com"},
                "errors": [], "warnings": []})
        );
    }

    #[test]
    fn missing_companions_are_named() {
        let v = one(r#"{"phone":"+56961234567"}"#);
        assert_eq!(codes(&v, "errors"), [("country".into(), "required".into())]);
        let v = one(r#"{"country":"CHL","documentNumber":"17604011-4"}"#);
        assert_eq!(
            codes(&v, "errors"),
            [("documentType".into(), "required".into())]
        );
        let v = one(r#"{"documentType":"RUT","documentNumber":"17604011-4"}"#);
        assert_eq!(codes(&v, "errors"), [("country".into(), "required".into())]);
    }

    #[test]
    fn wrong_types_and_bad_lines_are_answered() {
        let v = one(r#"{"country":56,"phone":"+56961234567","email":["a@b.cl"]}"#);
        assert_eq!(
            codes(&v, "errors"),
            [
                ("country".into(), "invalidType".into()),
                ("email".into(), "invalidType".into())
            ]
        );
        for (line, code) in [
            ("not json", "invalidJson"),
            ("{\"email\":\"a@b.cl\"", "invalidJson"),
            ("{} {}", "invalidJson"),
            ("[1,2]", "invalidType"),
            ("\"a@b.cl\"", "invalidType"),
            ("   ", "empty"),
            ("{}", "nothingToCheck"),
            ("{\"foo\":1}", "nothingToCheck"),
        ] {
            let v = one(line);
            assert_eq!(v["valid"], false, "{line}");
            assert_eq!(
                codes(&v, "errors"),
                [("line".into(), code.into())],
                "{line}"
            );
        }
    }

    #[test]
    fn unknown_fields_warn_and_nulls_count_as_absent() {
        let v = one(r#"{"email":"a@b.cl","name":"Ana","phone":null}"#);
        assert_eq!(v["valid"], true);
        assert_eq!(
            codes(&v, "warnings"),
            [("name".into(), "unknownField".into())]
        );
    }

    #[test]
    fn the_level_decides_what_a_check_digit_failure_is() {
        let line = br#"{"country":"CHL","documentType":"RUT","documentNumber":"18604011-4"}"#;
        let (ok, strict) = run_batch(line, ValidationLevel::Strict);
        assert!(!ok);
        assert_eq!(
            codes(&strict[0], "errors"),
            [("documentNumber".into(), "checkDigit".into())]
        );
        let (ok, structural) = run_batch(line, ValidationLevel::Structural);
        assert!(ok);
        assert_eq!(structural[0]["canonical"]["documentNumber"], "18604011-4");
        assert_eq!(
            codes(&structural[0], "warnings"),
            [("documentNumber".into(), "checkDigit".into())]
        );
    }

    #[test]
    fn the_type_restricts_document_types() {
        let v = one(
            r#"{"country":"BRA","type":"USER","documentType":"CNPJ","documentNumber":"12ABC34501DE35"}"#,
        );
        assert_eq!(
            codes(&v, "errors"),
            [("documentType".into(), "notAllowedForType".into())]
        );
        let v = one(r#"{"country":"CHL","documentType":"CPF","documentNumber":"52998224725"}"#);
        assert_eq!(
            codes(&v, "errors"),
            [("documentType".into(), "unsupportedForCountry".into())]
        );
    }

    #[test]
    fn lines_keep_their_order_and_count_with_crlf_and_no_final_newline() {
        let input = b"{\"email\":\"a@b.cl\"}\r\n\n\xff\xfe\n{\"email\":\"bad\"}";
        let (ok, lines) = run_batch(input, ValidationLevel::Strict);
        assert!(!ok);
        let valid: Vec<bool> = lines.iter().map(|l| l["valid"] == true).collect();
        assert_eq!(valid, [true, false, false, false]);
        assert_eq!(lines[0]["canonical"]["email"], "a@b.cl");
        assert_eq!(codes(&lines[1], "errors")[0].1, "empty");
        assert_eq!(codes(&lines[2], "errors")[0].1, "invalidJson");
        assert_eq!(codes(&lines[3], "errors")[0].0, "email");
    }

    /// Input that never returns more than 1,000 bytes per read.
    struct SmallReads(Vec<u8>, usize);

    impl Read for SmallReads {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let rest = &self.0[self.1..];
            let n = buf.len().min(1000).min(rest.len());
            buf[..n].copy_from_slice(&rest[..n]);
            self.1 += n;
            Ok(n)
        }
    }

    /// Collects what the reader hands to one worker.
    fn chunks_of(input: &[u8]) -> Vec<Chunk> {
        let (tx, rx) = mpsc::sync_channel(100_000);
        let (_, no_spares) = mpsc::sync_channel(0);
        read_chunks(std::io::Cursor::new(input.to_vec()), &[tx], &no_spares).expect("in-memory IO");
        rx.into_iter().collect()
    }

    #[test]
    fn an_overlong_line_is_answered_without_being_stored() {
        let mut input = Vec::new();
        input.extend_from_slice(b"{\"email\":\"a@b.cl\"}\n{\"email\":\"");
        input.resize(MAX_LINE * 3, b'a');
        input.extend_from_slice(b"@b.cl\"}\n{\"email\":\"a@b.cl\"}\n");
        let chunks = chunks_of(&input);
        assert!(
            chunks
                .iter()
                .all(|c| c.data.len() <= IO_BUFFER + MAX_LINE + 1)
        );
        let stored: Vec<&[u8]> = chunks
            .iter()
            .flat_map(|c| c.data.strip_suffix(b"\n").unwrap().split(|&b| b == b'\n'))
            .collect();
        assert_eq!(stored.len(), 3);
        assert_eq!(stored[1], b"", "the long line is not kept");
        assert_eq!(chunks.iter().map(|c| c.too_long.len()).sum::<usize>(), 1);
        let (_, lines) = run_batch(&input, ValidationLevel::Strict);
        assert_eq!(lines[0]["valid"], true);
        assert_eq!(
            codes(&lines[1], "errors"),
            [("line".into(), "tooLong".into())]
        );
        assert_eq!(lines[2]["valid"], true);
        // The limit itself: MAX_LINE bytes are read (and are not JSON), one more is too long,
        // whether the line came in one read or several.
        for (len, code) in [(MAX_LINE, "invalidJson"), (MAX_LINE + 1, "tooLong")] {
            let mut input = vec![b'x'; len];
            input.extend_from_slice(b"\n{\"email\":\"a@b.cl\"}\n");
            let (_, lines) = run_batch(&input, ValidationLevel::Strict);
            assert_eq!(codes(&lines[0], "errors")[0].1, code, "{len}");
            assert_eq!(lines[1]["valid"], true);
            let mut out = Vec::new();
            let reads = SmallReads(input.clone(), 0);
            process(reads, &mut out, ValidationLevel::Strict, jobs(2)).unwrap();
            let first: Value =
                serde_json::from_slice(out.split(|&b| b == b'\n').next().unwrap()).expect("JSON");
            assert_eq!(codes(&first, "errors")[0].1, code, "{len} in small reads");
        }
        // A long line without any newline at all is one answer too.
        let (_, lines) = run_batch(&vec![b'x'; MAX_LINE + 1], ValidationLevel::Strict);
        assert_eq!(lines.len(), 1);
        assert_eq!(codes(&lines[0], "errors")[0].1, "tooLong");
    }

    #[test]
    fn chunks_hold_whole_lines_and_answers_keep_the_input_order() {
        let input: String = (0..20_000)
            .map(|i| match i % 3 {
                0 => format!("{{\"email\":\"user{i}@example.com\"}}\n"),
                1 => format!("{{\"email\":\"user{i}@@example.com\"}}\n"),
                _ => format!(
                    "{{\"country\":\"CHL\",\"documentType\":\"RUT\",\"documentNumber\":\"{i}\"}}\n"
                ),
            })
            .collect();
        let chunks = chunks_of(input.as_bytes());
        assert!(chunks.len() > 10, "{} chunks", chunks.len());
        assert!(chunks.iter().all(|c| c.data.ends_with(b"\n")));
        for workers in [1, 2, 5] {
            let (ok, out) = run_raw(input.as_bytes(), ValidationLevel::Strict, workers);
            assert!(!ok);
            let out = String::from_utf8(out).unwrap();
            assert_eq!(out.lines().count(), 20_000);
            for (i, line) in out.lines().enumerate().step_by(7) {
                let v: Value = serde_json::from_str(line).unwrap();
                match i % 3 {
                    0 => assert_eq!(v["canonical"]["email"], format!("user{i}@example.com")),
                    1 => assert_eq!(codes(&v, "errors")[0].0, "email", "{i}"),
                    _ => assert!(v["canonical"].get("email").is_none(), "{i}"),
                }
            }
        }
    }

    /// Input that arrives one line at a time, like a program writing into a pipe and waiting.
    struct Trickle(Receiver<Vec<u8>>);

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.0.recv() {
                Ok(bytes) => {
                    buf[..bytes.len()].copy_from_slice(&bytes);
                    Ok(bytes.len())
                }
                Err(_) => Ok(0),
            }
        }
    }

    /// Output that reports what was flushed.
    struct Flushed {
        pending: Vec<u8>,
        tx: mpsc::Sender<Vec<u8>>,
    }

    impl Write for Flushed {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.pending.extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            if !self.pending.is_empty() {
                let _ = self.tx.send(std::mem::take(&mut self.pending));
            }
            Ok(())
        }
    }

    #[test]
    fn each_answer_is_flushed_before_waiting_for_more_input() {
        let (line_tx, line_rx) = mpsc::channel();
        let (answer_tx, answer_rx) = mpsc::channel();
        let batch = thread::spawn(move || {
            let mut out = Flushed {
                pending: Vec::new(),
                tx: answer_tx,
            };
            process(Trickle(line_rx), &mut out, ValidationLevel::Strict, jobs(2))
        });
        let wait = std::time::Duration::from_secs(30);
        for i in 0..5 {
            // Half a line first: nothing may be answered until its end arrives.
            line_tx.send(b"{\"email\":".to_vec()).unwrap();
            line_tx
                .send(format!("\"u{i}@b.cl\"}}\n").into_bytes())
                .unwrap();
            let answer = answer_rx.recv_timeout(wait).expect("an answer per line");
            let v: Value = serde_json::from_slice(&answer).unwrap();
            assert_eq!(v["canonical"]["email"], format!("u{i}@b.cl"));
        }
        drop(line_tx);
        assert!(batch.join().unwrap().unwrap());
    }

    #[test]
    fn escaped_strings_and_keys_are_read() {
        let v = one(r#"{"em\u0061il":"a\u0040b.cl"}"#);
        assert_eq!(v["canonical"]["email"], "a@b.cl");
    }

    #[test]
    fn deep_nesting_never_overflows_the_stack() {
        let deep = format!("{{\"x\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        let v = one(&deep);
        assert_eq!(codes(&v, "errors"), [("line".into(), "tooLong".into())]);
        // Within the limit, nested values are skipped without recursion and reported by type.
        let nested = format!("{{\"email\":{}{}}}", "[".repeat(10_000), "]".repeat(10_000));
        let v = one(&nested);
        assert_eq!(
            codes(&v, "errors"),
            [("email".into(), "invalidType".into())]
        );
    }
}
