//! Length-encoded integers and the fields of text-protocol rows: the small parsing the control
//! statements on a [`super::RawConn`] need (column counts, `SHOW WARNINGS`, `SHOW CREATE TABLE`).

/// A length-encoded integer at the start of `bytes`: its value and how many bytes it took.
/// `None` for the NULL marker (`0xFB`), `0xFF`, or too few bytes.
pub fn lenenc_int(bytes: &[u8]) -> Option<(u64, usize)> {
    let (first, rest) = bytes.split_first()?;
    let width = match first {
        0..=0xFA => return Some((u64::from(*first), 1)),
        0xFC => 2,
        0xFD => 3,
        0xFE => 8,
        _ => return None,
    };
    let mut value = [0u8; 8];
    value[..width].copy_from_slice(rest.get(..width)?);
    Some((u64::from_le_bytes(value), 1 + width))
}

/// The fields of a text-protocol row, `None` for NULL. Stops at the first malformed field.
pub fn text_row_fields(mut row: &[u8]) -> Vec<Option<&[u8]>> {
    let mut fields = Vec::new();
    while !row.is_empty() {
        if row[0] == 0xFB {
            fields.push(None);
            row = &row[1..];
            continue;
        }
        let Some((len, used)) = lenenc_int(row) else {
            break;
        };
        let Some(field) = usize::try_from(len)
            .ok()
            .and_then(|len| row.get(used..used + len))
        else {
            break;
        };
        fields.push(Some(field));
        row = &row[used + field.len()..];
    }
    fields
}

/// The first row of a text-protocol query, its fields as raw bytes (`None` for NULL); `None`
/// when the query returns no row.
pub fn first_row(
    conn: &mut super::RawConn,
    sql: &str,
) -> Result<Option<Vec<Option<Vec<u8>>>>, crate::MysqlError> {
    let mut first = None;
    conn.query_rows(
        sql,
        &mut super::Rows(|row: &[u8]| {
            if first.is_none() {
                first = Some(
                    text_row_fields(row)
                        .into_iter()
                        .map(|f| f.map(<[u8]>::to_vec))
                        .collect(),
                );
            }
            Ok(())
        }),
    )?;
    Ok(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_of_every_length_form_and_null() {
        let long = vec![b'x'; 300];
        let mut row = vec![3, b'a', b'b', b'c', 0xFB, 0xFC, 0x2C, 0x01];
        row.extend_from_slice(&long);
        row.push(0);
        let fields = text_row_fields(&row);
        assert_eq!(
            fields,
            vec![Some(&b"abc"[..]), None, Some(&long[..]), Some(&b""[..])]
        );
        assert_eq!(lenenc_int(&[0xFD, 1, 0, 1]), Some((65_537, 4)));
        assert_eq!(lenenc_int(&[0xFC, 1]), None, "truncated");
        assert_eq!(
            text_row_fields(&[5, b'a']),
            Vec::<Option<&[u8]>>::new(),
            "truncated field"
        );
    }
}
