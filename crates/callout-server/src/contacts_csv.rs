//! Reading contact lists from CSV files: a header row, then one contact a row, separated by
//! commas or semicolons, fields optionally in double quotes.

/// A contact list file that was read through and found valid. Its contacts are read again,
/// one at a time, by [`ContactFile::contacts`], so that a large file is never held in memory
/// twice over, as text and as fields.
#[derive(Debug)]
pub struct ContactFile<'a> {
    /// The header row.
    pub columns: Vec<String>,
    /// The number of contacts: rows that are not blank.
    pub count: usize,
    /// The file's text after any byte order mark.
    text: &'a [u8],
    delimiter: u8,
}

impl<'a> ContactFile<'a> {
    /// Returns the contacts in file order, each with one value per column, skipping blank rows.
    pub fn contacts(&self) -> impl Iterator<Item = csv::StringRecord> + 'a {
        let reader = csv::ReaderBuilder::new()
            .delimiter(self.delimiter)
            .has_headers(true)
            .flexible(false)
            .from_reader(self.text);
        // `read` went through the same records with the same reader settings and returned an
        // error for the first that failed, so none fails here.
        reader
            .into_records()
            .map_while(Result::ok)
            .filter(|record| !is_blank(record))
    }
}

fn is_blank(record: &csv::StringRecord) -> bool {
    record.iter().all(|field| field.trim().is_empty())
}

/// The reason a file cannot be read, and its line (from 1).
#[derive(Debug, PartialEq, Eq)]
pub struct CsvError {
    /// The line where reading failed.
    pub line: u64,
    /// The problem on that line.
    pub detail: String,
}

fn csv_error(line: u64, detail: impl Into<String>) -> CsvError {
    CsvError {
        line,
        detail: detail.into(),
    }
}

/// Reads through a whole file of at most `max_rows` contacts and checks every row. Either the
/// whole file is valid, or the error names the first line that is not.
pub fn read(bytes: &[u8], max_rows: usize) -> Result<ContactFile<'_>, CsvError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Some(offset) = bytes.iter().position(|&b| b == 0) {
        let line = 1 + line_breaks(&bytes[..offset]);
        return Err(csv_error(
            line,
            "the file is binary (it contains a NUL byte), not CSV text",
        ));
    }
    if let Err(error) = std::str::from_utf8(bytes) {
        let offset = error.valid_up_to();
        let line = 1 + line_breaks(&bytes[..offset]);
        return Err(csv_error(
            line,
            format!("the file is not valid UTF-8 (byte {})", offset + 1),
        ));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(csv_error(
            1,
            "the file is empty: send a header row and one row per contact",
        ));
    }
    let header = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    if header.contains(&b'\t') && !header.contains(&b',') && !header.contains(&b';') {
        return Err(csv_error(
            1,
            "the file is separated by tabs: save it with commas or semicolons",
        ));
    }

    let delimiter = sniff_delimiter(bytes);
    // The reader would take everything after an unclosed quote as one field, silently.
    if let Some(line) = unclosed_quote(bytes, delimiter) {
        return Err(csv_error(
            line,
            "a quoted field that starts here is never closed: add the closing `\"`",
        ));
    }
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .flexible(false)
        .from_reader(bytes);
    let columns: Vec<String> = match reader.headers() {
        Ok(header) => header.iter().map(|name| name.trim().to_string()).collect(),
        Err(error) => return Err(from_csv_error(bytes, &error)),
    };
    check_columns(&columns)?;

    let mut count = 0;
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(error) => return Err(from_csv_error(bytes, &error)),
        }
        if is_blank(&record) {
            continue;
        }
        if count == max_rows {
            let line = record
                .position()
                .map_or(1, |position| line_at(bytes, position.byte()));
            return Err(csv_error(
                line,
                format!("the file has more than {max_rows} contacts, the most one upload may hold"),
            ));
        }
        count += 1;
    }
    Ok(ContactFile {
        columns,
        count,
        text: bytes,
        delimiter,
    })
}

/// Picks `;` when the header row has more semicolons than commas outside quotes, else `,`.
fn sniff_delimiter(bytes: &[u8]) -> u8 {
    let (mut commas, mut semicolons, mut quoted) = (0, 0, false);
    for &byte in bytes {
        match byte {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => break,
            b',' if !quoted => commas += 1,
            b';' if !quoted => semicolons += 1,
            _ => {}
        }
    }
    if semicolons > commas {
        b';'
    } else {
        b','
    }
}

/// Returns the line of a quoted field that the file ends inside, following the reader's
/// rules: a quote opens a field only at its start, `""` inside one is a quote, and text after
/// the closing quote is kept as it is.
fn unclosed_quote(bytes: &[u8], delimiter: u8) -> Option<u64> {
    #[derive(PartialEq)]
    enum State {
        FieldStart,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
    let (mut state, mut opened_at) = (State::FieldStart, 0);
    for (index, &byte) in bytes.iter().enumerate() {
        let ends_field = byte == delimiter || byte == b'\n' || byte == b'\r';
        state = match state {
            State::FieldStart if byte == b'"' => {
                opened_at = index;
                State::Quoted
            }
            State::Quoted if byte == b'"' => State::QuoteInQuoted,
            State::Quoted => State::Quoted,
            State::QuoteInQuoted if byte == b'"' => State::Quoted,
            _ if ends_field => State::FieldStart,
            _ => State::Unquoted,
        };
    }
    (state == State::Quoted).then(|| 1 + line_breaks(&bytes[..opened_at]))
}

fn check_columns(columns: &[String]) -> Result<(), CsvError> {
    for (index, name) in columns.iter().enumerate() {
        if name.is_empty() {
            return Err(csv_error(
                1,
                format!("column {} of the header row has no name", index + 1),
            ));
        }
        if columns[..index].contains(name) {
            return Err(csv_error(
                1,
                format!("column `{name}` appears twice in the header row"),
            ));
        }
    }
    Ok(())
}

/// Returns the number of line ends in `bytes`: `\r\n`, `\n`, or a `\r` alone, as the csv
/// reader ends rows.
fn line_breaks(bytes: &[u8]) -> u64 {
    let lone_cr = |index: usize| bytes[index] == b'\r' && bytes.get(index + 1) != Some(&b'\n');
    (0..bytes.len())
        .filter(|&index| bytes[index] == b'\n' || lone_cr(index))
        .count() as u64
}

/// Returns the line (from 1) of the record that the csv reader places at byte `offset`: the
/// line of its first byte of text, as editors number lines. The reader's own count is one
/// short after a CRLF, because the record it reads next starts at the `\n`.
fn line_at(bytes: &[u8], offset: u64) -> u64 {
    let offset = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(bytes.len());
    let text = bytes[offset..]
        .iter()
        .position(|&b| b != b'\r' && b != b'\n');
    1 + line_breaks(&bytes[..text.map_or(bytes.len(), |skipped| offset + skipped)])
}

fn from_csv_error(bytes: &[u8], error: &csv::Error) -> CsvError {
    let line = error
        .position()
        .map_or(1, |position| line_at(bytes, position.byte()));
    match error.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => csv_error(
            line,
            format!("the row has {len} fields but the header row has {expected_len}"),
        ),
        _ => csv_error(line, error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_comma_and_semicolon_files() {
        let file = read(b"name,phone\n\"Doe, Jane\",+1 555\n\n , \nBob,x12\n", 10).unwrap();
        assert_eq!(file.columns, ["name", "phone"]);
        assert_eq!(file.count, 2);
        assert_eq!(contacts(&file), [["Doe, Jane", "+1 555"], ["Bob", "x12"]]);

        let file = read("\u{feff}name;phone\nO'Brien;+353\n".as_bytes(), 10).unwrap();
        assert_eq!(file.columns, ["name", "phone"]);
        assert_eq!(file.count, 1);
        assert_eq!(contacts(&file), [["O'Brien", "+353"]]);
    }

    fn contacts(file: &ContactFile) -> Vec<Vec<String>> {
        file.contacts()
            .map(|record| record.iter().map(str::to_string).collect())
            .collect()
    }

    #[test]
    fn rejected_files_table() {
        let cases: &[(&[u8], u64, &str)] = &[
            (b"", 1, "empty"),
            (b"  \n", 1, "empty"),
            (b"a,b\n1,2\n3\n", 3, "1 fields but the header row has 2"),
            (b"a,b\n1,\xff\n", 2, "not valid UTF-8"),
            (b"a,,c\n1,2,3\n", 1, "column 2"),
            (b"a,a\n1,2\n", 1, "appears twice"),
            (b"a,b\n1,2\n\x00\x01\x02", 3, "binary"),
            (b"a\n1\n2\n3\n4\n", 4, "more than 2 contacts"),
            (b"name,phone\nA,\"1\n", 2, "never closed"),
            (b"name,phone\nA,\"1\nB,2\n", 2, "never closed"),
            (b"name\tphone\nA\t1\n", 1, "tabs"),
            (
                b"a,b\r\n1,2\r\n3\r\n",
                3,
                "1 fields but the header row has 2",
            ),
            (b"a,b\r1,2\r3\r", 3, "1 fields but the header row has 2"),
            (b"a,b\n1,\"2\n3,4\n", 2, "never closed"),
            (b"a;b\n\"x\"\"\n\";1\n\"5'10\"\"\n", 4, "never closed"),
            (b"a\r\n1\r\n\r\n2\r\n3\r\n", 5, "more than 2 contacts"),
        ];
        for (bytes, line, detail) in cases {
            let error = read(bytes, 2).unwrap_err();
            assert_eq!(error.line, *line, "{:?}", String::from_utf8_lossy(bytes));
            assert!(error.detail.contains(detail), "{}", error.detail);
        }
    }
}
