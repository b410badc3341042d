//! Text in the embedded font (DejaVu Sans, `assets/fonts/`), rasterized by ab_glyph and
//! drawn as a plotters element placed by its baseline; widths and ellipsis cutting.
//!
//! plotters 0.3.7's own `ab_glyph` text drops each glyph's side bearing (letters drift
//! apart: "Tik Tok"), so labels are laid out here, with kerning and fractional advances.

use super::ChartError;
use ab_glyph::{Font, FontRef, GlyphId, PxScale, ScaleFont, point};
use plotters::element::{Drawable, PointCollection};
use plotters::prelude::*;
use plotters_backend::{BackendColor, BackendCoord, DrawingErrorKind};
use std::sync::OnceLock;

static REGULAR: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");

/// Levels of coverage kept at glyph edges: enough for smooth type, few colours to encode.
const LEVELS: f32 = 32.0;

/// The two embedded faces, parsed once per process.
#[derive(Debug)]
pub(super) struct Fonts {
    regular: FontRef<'static>,
    bold: FontRef<'static>,
}

/// The fonts, or [`ChartError::Font`] if the embedded files do not parse (a bug the tests catch).
pub(super) fn fonts() -> Result<&'static Fonts, ChartError> {
    static FONTS: OnceLock<Option<Fonts>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            Some(Fonts {
                regular: FontRef::try_from_slice(REGULAR).ok()?,
                bold: FontRef::try_from_slice(BOLD).ok()?,
            })
        })
        .as_ref()
        .ok_or(ChartError::Font)
}

/// A type size (font size in pixels, as CSS means it) and weight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Face {
    pub size: f32,
    pub bold: bool,
}

/// Where a label's anchor is: its left end, centre or right end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Align {
    Left,
    Centre,
    Right,
}

impl Face {
    /// Height of capitals and digits above the baseline, in pixels (DejaVu Sans: 0.73 em).
    pub fn cap(self) -> i32 {
        (self.size * 0.73).round() as i32
    }
}

impl Fonts {
    fn font(&self, face: Face) -> &FontRef<'static> {
        if face.bold { &self.bold } else { &self.regular }
    }

    /// ab_glyph's scale (ascent to descent) for a font size.
    fn scale(&self, face: Face) -> PxScale {
        let font = self.font(face);
        let em = font.units_per_em().unwrap_or(2048.0);
        PxScale::from(face.size * font.height_unscaled() / em)
    }

    /// Glyphs of `text` and their pen positions from 0, and the advance of the whole.
    fn layout(&self, text: &str, face: Face) -> (Vec<(GlyphId, f32)>, f32) {
        let font = self.font(face).as_scaled(self.scale(face));
        let mut pen = 0.0;
        let mut prev: Option<GlyphId> = None;
        let mut out = Vec::with_capacity(text.len());
        // Control characters (a newline in a name) take no room and draw nothing.
        for c in text.chars().filter(|c| !c.is_control()) {
            let id = font.glyph_id(c);
            if let Some(p) = prev {
                pen += font.kern(p, id);
            }
            out.push((id, pen));
            pen += font.h_advance(id);
            prev = Some(id);
        }
        (out, pen)
    }

    /// Width of `text`, in whole pixels.
    pub fn width(&self, text: &str, face: Face) -> i32 {
        self.layout(text, face).1.ceil() as i32
    }

    /// `text` cut to at most `max` pixels wide, ending with "…" when cut.
    pub fn fit(&self, text: &str, face: Face, max: i32) -> String {
        if self.width(text, face) <= max {
            return text.to_string();
        }
        // No label holds 200 characters; longer text is cut before measuring.
        let chars: Vec<char> = text.chars().take(200).collect();
        (0..chars.len())
            .rev()
            .map(|keep| chars[..keep].iter().collect::<String>().trim_end().to_string() + "…")
            .find(|cut| self.width(cut, face) <= max)
            .unwrap_or_else(|| "…".to_string())
    }

    /// Draws `text` with its baseline at `y`, anchored at `x` by `align`.
    pub fn label<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, plotters::coord::Shift>,
        text: &str,
        at: (i32, i32),
        (face, colour): (Face, RGBColor),
        align: Align,
    ) -> Result<(), ChartError> {
        let label = Label {
            fonts: self,
            text,
            at,
            face,
            colour,
            align,
        };
        area.draw(&label).map_err(ChartError::draw)
    }
}

/// One line of text as a plotters element: anchored at `at`, `at.1` its baseline.
struct Label<'a> {
    fonts: &'a Fonts,
    text: &'a str,
    at: BackendCoord,
    face: Face,
    colour: RGBColor,
    align: Align,
}

impl<'b> PointCollection<'b, BackendCoord> for &'b Label<'_> {
    type Point = &'b BackendCoord;
    type IntoIter = std::iter::Once<&'b BackendCoord>;
    fn point_iter(self) -> Self::IntoIter {
        std::iter::once(&self.at)
    }
}

impl<DB: DrawingBackend> Drawable<DB> for Label<'_> {
    fn draw<I: Iterator<Item = BackendCoord>>(
        &self,
        mut points: I,
        backend: &mut DB,
        _: (u32, u32),
    ) -> Result<(), DrawingErrorKind<DB::ErrorType>> {
        let Some((x, y)) = points.next() else {
            return Ok(());
        };
        let (glyphs, width) = self.fonts.layout(self.text, self.face);
        let left = match self.align {
            Align::Left => x as f32,
            Align::Centre => (x as f32 - width / 2.0).round(),
            Align::Right => x as f32 - width.ceil(),
        };
        let font = self.fonts.font(self.face);
        let scale = self.fonts.scale(self.face);
        let RGBColor(r, g, b) = self.colour;
        let mut result = Ok(());
        for (id, pen) in glyphs {
            let glyph = id.with_scale_and_position(scale, point(left + pen, y as f32));
            let Some(outline) = font.outline_glyph(glyph) else {
                continue;
            };
            let min = outline.px_bounds().min;
            outline.draw(|gx, gy, coverage| {
                let alpha = (coverage.clamp(0.0, 1.0) * LEVELS).round() / LEVELS;
                if alpha > 0.0 && result.is_ok() {
                    let at = (min.x as i32 + gx as i32, min.y as i32 + gy as i32);
                    let colour = BackendColor {
                        alpha: f64::from(alpha),
                        rgb: (r, g, b),
                    };
                    result = backend.draw_pixel(at, colour);
                }
            });
        }
        result
    }
}
