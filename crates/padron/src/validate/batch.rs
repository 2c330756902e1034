//! `padron validate --batch`: JSON lines on stdin, one JSON verdict line on stdout per input
//! line, in order. A bad line is answered, never fatal.
//!
//! A few workers (one per core) share the input and the output and take turns with each: a
//! worker reads the next block of whole lines from stdin (a numbered chunk), checks it into a
//! buffer of answers without holding anything, then writes those answers out if theirs is the
//! chunk due next, with any later ones that were already done, or else leaves them for the
//! worker of the chunk due. No thread only moves data for another, so a chunk is read, checked
//! and written by one thread, with no hand-over to wait for when the machine is busy. Every
//! chunk is at most one read plus one line, and a worker that finds [`WINDOW`] answers
//! waiting waits for them to go out, so memory stays flat however many lines come. Lines are
//! read and answered by [`json`].

mod json;

use std::borrow::Cow;
use std::io::{self, Read, Write};
use std::num::NonZeroUsize;
use std::process::ExitCode;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
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

/// Size of one read from stdin: a million short lines cost about a thousand system calls. The
/// whole lines of one read (about 400 of the usual shape) make a chunk, so that what has been
/// read is answered before the next read, which may block on a pipe.
const IO_BUFFER: usize = 32 * 1024;

/// Room for a chunk: the unfinished line carried over from the previous read, then one read.
/// Allocated at this size so that it never grows (only a line longer than a read makes it):
/// growing a buffer of this size means remapping memory, which all the threads' CPUs must be
/// told about.
const CHUNK_CAPACITY: usize = 2 * IO_BUFFER;

/// Room for the answers to a chunk, for the same reason: answers run two to four times the size
/// of the lines they answer.
const ANSWERS_CAPACITY: usize = 4 * CHUNK_CAPACITY;

/// Answers waiting for an earlier chunk's, per worker, before the worker that left the last of
/// them waits for them to be written: the bound on memory when one chunk is slow to check.
const WINDOW: usize = 2;

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
    match process(io::stdin(), io::stdout(), level, jobs) {
        Ok((true, _)) => ExitCode::SUCCESS,
        Ok((false, _)) => ExitCode::from(1),
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

/// Checks every line of `input`, writing one verdict line per input line to `output`, in order.
/// Returns whether every line was valid, and `output`; `Err` only when reading or writing fails.
///
/// The answers to each read are written (and `output` flushed) as soon as they and those before
/// them are checked, so a program that feeds lines through a pipe and waits for their answers
/// gets them, while a file is still read and written in large blocks. On a write failure this
/// returns at once; so does a worker's panic, which goes on in the caller. A worker waiting for
/// input on an idle pipe is then left to stop on its own (or with the process).
pub fn process<R, W>(
    input: R,
    output: W,
    level: ValidationLevel,
    jobs: NonZeroUsize,
) -> io::Result<(bool, W)>
where
    R: Read + Send + 'static,
    W: Write + Send + 'static,
{
    process_with(input, output, level, jobs, check_line)
}

/// One input line without its newline: text when it is UTF-8, the bytes when it is not.
type LineInput<'a> = Result<&'a str, &'a [u8]>;

/// How one line is checked: [`check_line`], or a stand-in in tests.
type Check = fn(LineInput<'_>, ValidationLevel, &mut Verdict);

/// What the workers share: the input, which one of them reads at a time, and the output with
/// the answers waiting for it. A worker never holds both locks.
struct Shared<R, W> {
    input: Mutex<Input<R>>,
    output: Mutex<Output<W>>,
    /// Told whenever answers are written, a worker ends or the run fails: wakes workers waiting
    /// for room and the caller waiting for the end.
    changed: Condvar,
    jobs: usize,
}

/// [`process`] with the line check given.
fn process_with<R, W>(
    input: R,
    output: W,
    level: ValidationLevel,
    jobs: NonZeroUsize,
    check: Check,
) -> io::Result<(bool, W)>
where
    R: Read + Send + 'static,
    W: Write + Send + 'static,
{
    let jobs = jobs.get();
    let shared = Arc::new(Shared {
        input: Mutex::new(Input::new(input)),
        output: Mutex::new(Output {
            writer: Some(output),
            next: 0,
            waiting: Vec::with_capacity(jobs * WINDOW),
            spares: Vec::new(),
            all_valid: true,
            ended: 0,
            error: None,
            failed: None,
        }),
        changed: Condvar::new(),
        jobs,
    });
    let workers: Vec<_> = (0..jobs)
        .map(|index| {
            let shared = Arc::clone(&shared);
            thread::spawn(move || work(&shared, index, level, check))
        })
        .collect();
    let mut output = lock(&shared.output);
    while output.ended < jobs && output.error.is_none() && output.failed.is_none() {
        output = shared
            .changed
            .wait(output)
            .unwrap_or_else(PoisonError::into_inner);
    }
    // A worker that panicked ends the run at once and its panic goes on (exit 101) instead of a
    // run that looks complete. Only that worker is joined: another may be waiting for input on
    // an idle pipe.
    if let Some(index) = output.failed {
        drop(output);
        let panic = workers
            .into_iter()
            .nth(index)
            .and_then(|worker| worker.join().err());
        match panic {
            Some(panic) => std::panic::resume_unwind(panic),
            None => unreachable!("worker {index} failed without panicking"),
        }
    }
    if let Some(err) = output.error.take() {
        return Err(err);
    }
    let all_valid = output.all_valid;
    let writer = output.writer.take();
    drop(output);
    // Every worker has ended, so this waits for nothing.
    for worker in workers {
        if let Err(panic) = worker.join() {
            std::panic::resume_unwind(panic);
        }
    }
    if let Some(err) = lock(&shared.input).error.take() {
        return Err(err);
    }
    match writer {
        Some(writer) => Ok((all_valid, writer)),
        None => unreachable!("the output is only taken here"),
    }
}

/// Locks a mutex whatever a panicking worker left in it: used where the only thing read is
/// whether the run failed.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The input and how far it has been cut into chunks.
struct Input<R> {
    reader: R,
    /// The start of an unfinished line, carried into the next chunk.
    carry: Vec<u8>,
    /// Discarding the rest of a line that already proved too long.
    skipping: bool,
    /// The input ended (or failed): there are no more chunks.
    ended: bool,
    /// Why reading failed; the lines read before are still answered.
    error: Option<io::Error>,
    /// The number of the next chunk.
    next: u64,
}

impl<R: Read> Input<R> {
    fn new(reader: R) -> Self {
        Input {
            reader,
            carry: Vec::new(),
            skipping: false,
            ended: false,
            error: None,
            next: 0,
        }
    }

    /// Reads the next chunk of whole lines into `chunk` and returns its number, or `None` when
    /// the input is done. A chunk is what one read completes: it costs next to nothing per line,
    /// as only the last newline of each read is looked for. The one line followed is an
    /// unfinished one that grows past [`MAX_LINE`]: it is dropped while it is read and marked in
    /// `too_long`, which is what bounds memory on input without newlines.
    fn next_chunk(&mut self, chunk: &mut Chunk) -> Option<u64> {
        chunk.data.clear();
        chunk.too_long.clear();
        if self.ended {
            return None;
        }
        chunk.data.extend_from_slice(&self.carry);
        self.carry.clear();
        // `chunk.data[..complete]` holds whole lines; the rest is the start of an unfinished one
        // (nothing while skipping).
        let mut complete = 0;
        loop {
            let before = chunk.data.len();
            chunk.data.resize(before + IO_BUFFER, 0);
            let read = self.reader.read(&mut chunk.data[before..]);
            chunk.data.truncate(before + *read.as_ref().unwrap_or(&0));
            match read {
                Ok(0) => {
                    // The end: a last line without a newline still counts.
                    if self.skipping {
                        chunk.too_long.push(chunk.data.len());
                        chunk.data.push(b'\n');
                    } else if chunk.data.len() > complete {
                        chunk.data.push(b'\n');
                    }
                    complete = chunk.data.len();
                    self.ended = true;
                    break;
                }
                Ok(_) => {}
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => {
                    // The lines read so far are answered; the unfinished one is not.
                    chunk.data.truncate(complete);
                    self.error = Some(err);
                    self.ended = true;
                    break;
                }
            }
            let mut scan = before;
            if self.skipping {
                let Some(end) = memchr::memchr(b'\n', &chunk.data[before..]) else {
                    chunk.data.truncate(before);
                    continue;
                };
                // The long line ends here: it stays as an empty line, marked.
                chunk.too_long.push(before);
                chunk.data.drain(before..before + end);
                self.skipping = false;
                complete = before + 1;
                scan = complete;
            }
            if let Some(last) = memchr::memrchr(b'\n', &chunk.data[scan..]) {
                complete = scan + last + 1;
            }
            if chunk.data.len() - complete > MAX_LINE {
                chunk.data.truncate(complete);
                self.skipping = true;
            }
            // The next read may block: every whole line read so far is answered first.
            if complete > 0 {
                break;
            }
        }
        self.carry.extend_from_slice(&chunk.data[complete..]);
        chunk.data.truncate(complete);
        if chunk.data.is_empty() {
            return None;
        }
        self.next += 1;
        Some(self.next - 1)
    }
}

/// The answers to one chunk, waiting for those of the chunks before it to be written.
struct Answers {
    chunk: u64,
    data: Vec<u8>,
    all_valid: bool,
}

/// The output and the answers waiting for it.
struct Output<W> {
    /// Taken back by [`process_with`] at the end.
    writer: Option<W>,
    /// The number of the chunk whose answers are written next.
    next: u64,
    waiting: Vec<Answers>,
    /// Written answers' buffers, for reuse: after the first few chunks none is allocated.
    spares: Vec<Vec<u8>>,
    all_valid: bool,
    /// Workers that have ended.
    ended: usize,
    /// Why writing failed: the run stops.
    error: Option<io::Error>,
    /// The worker that panicked: the run stops.
    failed: Option<usize>,
}

impl<W: Write> Output<W> {
    fn stopped(&self) -> bool {
        self.error.is_some() || self.failed.is_some()
    }

    /// Writes `data` (the answers to chunk `next`), then every waiting chunk that follows in
    /// order, and flushes.
    fn write_from(&mut self, data: &[u8], all_valid: bool) -> io::Result<()> {
        let Some(writer) = self.writer.as_mut() else {
            return Ok(());
        };
        writer.write_all(data)?;
        self.all_valid &= all_valid;
        self.next += 1;
        while let Some(i) = self.waiting.iter().position(|a| a.chunk == self.next) {
            let answers = self.waiting.swap_remove(i);
            writer.write_all(&answers.data)?;
            self.all_valid &= answers.all_valid;
            self.next += 1;
            self.spares.push(answers.data);
        }
        writer.flush()
    }
}

/// Marks the run failed if the worker it belongs to panics.
struct PanicGuard<'a, R, W> {
    shared: &'a Shared<R, W>,
    index: usize,
}

impl<R, W> Drop for PanicGuard<'_, R, W> {
    fn drop(&mut self) {
        if thread::panicking() {
            lock(&self.shared.output).failed.get_or_insert(self.index);
            self.shared.changed.notify_all();
        }
    }
}

/// A worker: reads, checks and writes chunks until the input ends or the run stops.
fn work<R: Read, W: Write>(
    shared: &Shared<R, W>,
    index: usize,
    level: ValidationLevel,
    check: Check,
) {
    let _guard = PanicGuard { shared, index };
    let mut chunk = Chunk {
        data: Vec::with_capacity(CHUNK_CAPACITY),
        too_long: Vec::new(),
    };
    let mut answers = Vec::with_capacity(ANSWERS_CAPACITY);
    let mut verdict = Verdict::default();
    loop {
        let Ok(mut input) = shared.input.lock() else {
            return;
        };
        let Some(number) = input.next_chunk(&mut chunk) else {
            break;
        };
        drop(input);
        answers.clear();
        let all_valid = check_chunk(&chunk, &mut answers, &mut verdict, level, check);
        let Ok(mut output) = shared.output.lock() else {
            return;
        };
        if output.stopped() {
            return;
        }
        if output.next == number {
            if let Err(err) = output.write_from(&answers, all_valid) {
                output.error = Some(err);
            }
            shared.changed.notify_all();
        } else {
            let spare = output
                .spares
                .pop()
                .unwrap_or_else(|| Vec::with_capacity(ANSWERS_CAPACITY));
            output.waiting.push(Answers {
                chunk: number,
                data: std::mem::replace(&mut answers, spare),
                all_valid,
            });
            while output.waiting.len() >= shared.jobs * WINDOW && !output.stopped() {
                output = match shared.changed.wait(output) {
                    Ok(output) => output,
                    Err(_) => return,
                };
            }
        }
    }
    lock(&shared.output).ended += 1;
    shared.changed.notify_all();
}

/// Checks every line of `chunk`, appending one answer line each to `out`. Returns whether every
/// line was valid.
fn check_chunk(
    chunk: &Chunk,
    out: &mut Vec<u8>,
    verdict: &mut Verdict,
    level: ValidationLevel,
    check: Check,
) -> bool {
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
            check(line, level, verdict);
        }
        start = end + 1;
        all_valid &= verdict.is_valid();
        verdict.write_json(out);
    }
    all_valid
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
    use std::sync::mpsc::{self, Receiver};

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
                let jobs = jobs(workers);
                process_with(
                    input,
                    Vec::new(),
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
        let input = std::io::Cursor::new(input.to_vec());
        process(input, Vec::new(), level, jobs(workers)).expect("in-memory IO")
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

    /// Cuts the input into chunks as the workers do, checking their numbers.
    fn chunks_of(input: &[u8]) -> Vec<Chunk> {
        let mut input = Input::new(std::io::Cursor::new(input.to_vec()));
        let mut chunks = Vec::new();
        let mut chunk = Chunk::default();
        while let Some(number) = input.next_chunk(&mut chunk) {
            assert_eq!(number, chunks.len() as u64);
            chunks.push(std::mem::take(&mut chunk));
        }
        assert!(input.error.is_none(), "in-memory IO");
        chunks
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
            let reads = SmallReads(input.clone(), 0);
            let (_, out) = process(reads, Vec::new(), ValidationLevel::Strict, jobs(2)).unwrap();
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
            let out = Flushed {
                pending: Vec::new(),
                tx: answer_tx,
            };
            process(Trickle(line_rx), out, ValidationLevel::Strict, jobs(2))
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
        assert!(batch.join().unwrap().unwrap().0);
    }

    /// Input that gives one line per read, then ends, or fails when `fails`.
    struct LineReads {
        lines: std::vec::IntoIter<Vec<u8>>,
        fails: bool,
    }

    impl LineReads {
        fn new(lines: impl IntoIterator<Item = String>, fails: bool) -> Self {
            let lines: Vec<_> = lines.into_iter().map(String::into_bytes).collect();
            LineReads {
                lines: lines.into_iter(),
                fails,
            }
        }
    }

    impl Read for LineReads {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.lines.next() {
                Some(line) => {
                    buf[..line.len()].copy_from_slice(&line);
                    Ok(line.len())
                }
                None if self.fails => Err(io::Error::other("the disk went away")),
                None => Ok(0),
            }
        }
    }

    fn email_lines(n: usize) -> impl Iterator<Item = String> {
        (0..n).map(|i| format!("{{\"email\":\"u{i}@b.cl\"}}\n"))
    }

    #[test]
    fn a_read_error_answers_the_lines_before_it_and_fails_the_run() {
        for workers in [1, 3] {
            // Half a line last: it was never finished, so it is not answered.
            let lines = email_lines(50).chain(["{\"email\":".to_owned()]);
            let written = Arc::new(Mutex::new(Vec::new()));
            let got = process(
                LineReads::new(lines, true),
                FullDisk(usize::MAX, Arc::clone(&written)),
                ValidationLevel::Strict,
                jobs(workers),
            );
            let err = got.err().expect("the read error is the run's result");
            assert_eq!(err.to_string(), "the disk went away");
            assert_answers_in_order(&written, 50);
        }
    }

    /// Checks that `written` answers the first lines of [`email_lines`] in order, `at_least`
    /// of them.
    fn assert_answers_in_order(written: &Mutex<Vec<u8>>, at_least: usize) {
        let written = String::from_utf8(written.lock().unwrap().clone()).unwrap();
        assert!(written.lines().count() >= at_least, "{written}");
        for (i, line) in written.lines().enumerate() {
            let v: Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["canonical"]["email"], format!("u{i}@b.cl"));
        }
    }

    /// Output that takes `.0` more bytes, then fails.
    struct FullDisk(usize, Arc<Mutex<Vec<u8>>>);

    impl Write for FullDisk {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if buf.len() > self.0 {
                return Err(io::Error::new(io::ErrorKind::StorageFull, "no space left"));
            }
            self.0 -= buf.len();
            self.1.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_write_error_stops_the_run_with_the_answers_so_far_in_order() {
        let input: Vec<u8> = email_lines(20_000).flat_map(String::into_bytes).collect();
        for workers in [1, 2, 4] {
            let written = Arc::new(Mutex::new(Vec::new()));
            let out = FullDisk(200_000, Arc::clone(&written));
            let got = process(
                std::io::Cursor::new(input.clone()),
                out,
                ValidationLevel::Strict,
                jobs(workers),
            );
            let err = got.err().expect("the write error is the run's result");
            assert_eq!(err.kind(), io::ErrorKind::StorageFull);
            // About 90 bytes an answer.
            assert_answers_in_order(&written, 1_000);
        }
    }

    /// While one chunk is slow to check, the others may run ahead only by a bounded number of
    /// chunks: their answers wait in memory until the slow one is written.
    #[test]
    fn answers_waiting_for_a_slow_chunk_are_bounded() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static CHECKED: AtomicUsize = AtomicUsize::new(0);
        static AHEAD: AtomicUsize = AtomicUsize::new(usize::MAX);
        fn slow_first_line(raw: LineInput<'_>, level: ValidationLevel, verdict: &mut Verdict) {
            if raw == Ok("{\"email\":\"u0@b.cl\"}") {
                thread::sleep(std::time::Duration::from_millis(300));
                AHEAD.store(CHECKED.load(Ordering::SeqCst), Ordering::SeqCst);
            } else {
                CHECKED.fetch_add(1, Ordering::SeqCst);
            }
            check_line(raw, level, verdict);
        }
        let workers = 3;
        // One line per read, so one line per chunk.
        let (ok, out) = process_with(
            LineReads::new(email_lines(2_000), false),
            Vec::new(),
            ValidationLevel::Strict,
            jobs(workers),
            slow_first_line,
        )
        .unwrap();
        assert!(ok);
        assert_eq!(String::from_utf8(out).unwrap().lines().count(), 2_000);
        // Each of the other workers may hold one chunk besides those waiting.
        let ahead = AHEAD.load(Ordering::SeqCst);
        assert!(
            ahead <= workers * WINDOW + workers,
            "{ahead} chunks ran ahead"
        );
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
