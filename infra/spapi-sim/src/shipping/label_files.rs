//! The label files the simulator answers: small, well-formed PDF, PNG and
//! ZPL with the tracking id in them, padded to a size on request.

use std::io::Write;

use base64::Engine;
use serde_json::{Value, json};

pub(super) fn package_detail(
    reference: &str,
    tracking: &str,
    format: &str,
    dpi: Option<u32>,
    padding: usize,
) -> Value {
    let bytes = label_file(format, tracking, dpi.unwrap_or(203), padding);
    json!({
        "packageClientReferenceId": reference,
        "trackingId": tracking,
        "packageDocuments": [{
            "type": "LABEL",
            "format": format,
            "contents": base64::engine::general_purpose::STANDARD.encode(bytes),
        }],
    })
}

/// A small, well-formed label file with the tracking id in it, padded
/// (with comments or an ancillary chunk) to at least `padding` bytes.
pub fn label_file(format: &str, tracking: &str, dpi: u32, padding: usize) -> Vec<u8> {
    match format {
        "PNG" => png(tracking, padding),
        "ZPL" => {
            let mut z = format!(
                "^XA\n^FX Amazon Shipping label (simulator) {dpi} dpi\n^FO50,50^A0N,40,40^FD{tracking}^FS\n^FO50,120^BCN,100,Y,N,N^FD{tracking}^FS\n"
            );
            while z.len() + 4 < padding {
                z.push_str("^FX ");
                z.push_str(&"0".repeat(75));
                z.push('\n');
            }
            z.push_str("^XZ\n");
            z.into_bytes()
        }
        _ => pdf(tracking, padding),
    }
}

pub(super) fn pdf(tracking: &str, padding: usize) -> Vec<u8> {
    pdf_with(&[format!("Label {tracking}")], padding)
}

/// A one-page PDF with `lines` of text (ASCII, no parentheses), padded with
/// comments to at least `padding` bytes.
pub(crate) fn pdf_with(lines: &[String], padding: usize) -> Vec<u8> {
    let mut content = String::from("BT /F1 12 Tf 36 400 Td 14 TL");
    for line in lines {
        let safe: String = line
            .chars()
            .filter(|c| c.is_ascii() && !matches!(c, '(' | ')' | '\\'))
            .collect();
        content.push_str(&format!(" ({safe}) Tj T*"));
    }
    content.push_str(" ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 288 432] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_string(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    while out.len() < padding {
        out.extend_from_slice(b"%");
        out.extend_from_slice(&[b'0'; 78]);
        out.push(b'\n');
    }
    let mut offsets = Vec::new();
    for (n, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", n + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

pub(super) fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&u32::try_from(data.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
}

/// A 1×1 white greyscale PNG with the tracking id as a text chunk.
pub(super) fn png(tracking: &str, padding: usize) -> Vec<u8> {
    let mut out = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    // width 1, height 1, bit depth 8, colour type 0, compression, filter, interlace
    png_chunk(&mut out, b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]);
    png_chunk(
        &mut out,
        b"tEXt",
        format!("Title\0Label {tracking}").as_bytes(),
    );
    if padding > out.len() {
        let fill = "0".repeat(padding - out.len());
        png_chunk(&mut out, b"tEXt", format!("Comment\0{fill}").as_bytes());
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    // one scanline: filter byte 0, one white pixel
    let _ = z.write_all(&[0, 0xFF]);
    let idat = z.finish().unwrap_or_default();
    png_chunk(&mut out, b"IDAT", &idat);
    png_chunk(&mut out, b"IEND", &[]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_files_look_like_their_format() {
        let pdf = label_file("PDF", "AMZN1", 203, 0);
        assert!(pdf.starts_with(b"%PDF-1.4") && pdf.ends_with(b"%%EOF\n"));
        let png = label_file("PNG", "AMZN1", 203, 0);
        assert!(png.starts_with(&[0x89, b'P', b'N', b'G']));
        assert!(png.ends_with(&[0xAE, 0x42, 0x60, 0x82]), "IEND CRC");
        let zpl = label_file("ZPL", "AMZN1", 300, 0);
        assert!(zpl.starts_with(b"^XA") && zpl.ends_with(b"^XZ\n"));
        for f in ["PDF", "PNG", "ZPL"] {
            assert!(label_file(f, "T", 203, 500_000).len() >= 500_000, "{f}");
        }
    }
}
