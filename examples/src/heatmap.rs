//! Attention heatmaps as PNG images: source tokens along the top, target tokens down the side,
//! one cell per (target, source) pair, darker for more attention.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, FontTransform, register_font};

const CELL: i32 = 30;
const FONT_SIZE: i32 = 15;
/// Rough width of a character of the label font, to size the margins.
const CHAR_WIDTH: i32 = 9;

/// Font files tried in order when `BURN_RNN_FONT` does not name one.
const FONT_CANDIDATES: [&str; 4] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
];

/// Writes the heatmap of `weights` (`weights[t][s]`: attention of target token `t` on source
/// token `s`, each row summing to 1) as a PNG image at `path`.
pub fn attention_heatmap(
    path: &Path,
    source: &[String],
    target: &[String],
    weights: &[Vec<f32>],
) -> Result<(), String> {
    if weights.len() != target.len() || weights.iter().any(|row| row.len() != source.len()) {
        return Err(format!(
            "weights: expected {} rows of {} values (target × source tokens), got {} rows",
            target.len(),
            source.len(),
            weights.len()
        ));
    }
    require_font()?;
    let longest =
        |tokens: &[String]| tokens.iter().map(|t| t.chars().count()).max().unwrap_or(1) as i32;
    let left = 16 + CHAR_WIDTH * longest(target);
    let top = 16 + CHAR_WIDTH * longest(source);
    let width = left + CELL * source.len() as i32 + 16;
    let height = top + CELL * target.len() as i32 + 16;
    let draw_error = |e: DrawingAreaErrorKind<_>| format!("{}: {e}", path.display());

    let root = BitMapBackend::new(path, (width as u32, height as u32)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_error)?;
    for (t, row) in weights.iter().enumerate() {
        for (s, &w) in row.iter().enumerate() {
            let (x, y) = (left + CELL * s as i32, top + CELL * t as i32);
            root.draw(&Rectangle::new(
                [(x, y), (x + CELL, y + CELL)],
                shade(w).filled(),
            ))
            .map_err(draw_error)?;
        }
    }
    let font = ("sans-serif", FONT_SIZE).into_font().color(&BLACK);
    for (t, token) in target.iter().enumerate() {
        let anchor = (left - 6, top + CELL * t as i32 + CELL / 2);
        let style = font.pos(Pos::new(HPos::Right, VPos::Center));
        root.draw(&Text::new(token.as_str(), anchor, style))
            .map_err(draw_error)?;
    }
    for (s, token) in source.iter().enumerate() {
        let anchor = (left + CELL * s as i32 + CELL / 2 - FONT_SIZE / 2, top - 6);
        let style = font.transform(FontTransform::Rotate270);
        root.draw(&Text::new(token.as_str(), anchor, style))
            .map_err(draw_error)?;
    }
    root.present().map_err(draw_error)
}

/// White (0) to dark blue (1).
fn shade(weight: f32) -> RGBColor {
    let w = weight.clamp(0.0, 1.0);
    let mix = |from: f32, to: f32| (from + (to - from) * w).round() as u8;
    RGBColor(mix(255.0, 8.0), mix(255.0, 48.0), mix(255.0, 107.0))
}

/// Registers a TrueType font for the heatmap labels, once: the file that `BURN_RNN_FONT`
/// names, else the first of a few system fonts. Programs that write heatmaps call it before
/// their long work (training, decoding a test set), so that a missing font stops them at
/// once instead of after it.
pub fn require_font() -> Result<(), String> {
    static LOADED: OnceLock<Result<(), String>> = OnceLock::new();
    LOADED
        .get_or_init(|| {
            let path = match std::env::var_os("BURN_RNN_FONT") {
                // A font the user named is the one wanted: no silent fallback to another.
                Some(named) => {
                    let path = PathBuf::from(named);
                    if !path.is_file() {
                        return Err(format!(
                            "BURN_RNN_FONT: expected a TrueType font file for the heatmap labels, \
                             got {}, which is not a file",
                            path.display()
                        ));
                    }
                    path
                }
                None => FONT_CANDIDATES
                    .iter()
                    .map(PathBuf::from)
                    .find(|p| p.is_file())
                    .ok_or_else(|| {
                        format!(
                            "no font for the heatmap labels: expected one of {FONT_CANDIDATES:?}, \
                             found none; install one (Debian: apt-get install fonts-dejavu-core) \
                             or set BURN_RNN_FONT to a .ttf file"
                        )
                    })?,
            };
            let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            register_font(
                "sans-serif",
                FontStyle::Normal,
                Box::leak(bytes.into_boxed_slice()),
            )
            .map_err(|_| format!("{}: not a TrueType font", path.display()))
        })
        .clone()
}
