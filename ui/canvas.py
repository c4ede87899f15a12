"""A drawing canvas of our own: ``st.components.v2`` with inline HTML, CSS and JS (no build step, no library).

White ink on black, like MNIST. Mouse, pen and touch through pointer events; ``touch-action: none`` keeps a
phone from scrolling while a finger draws. Undo and Clear buttons.

What Python receives: the *strokes*, as lists of (x, y) points in the canvas's own 280 × 280 units, sent once
per stroke (on pen-up), not an image. Why points rather than a PNG of the canvas:

- small (a digit is a few hundred points, a few KB of JSON) and exact: ``nn.preprocess.rasterize_strokes``
  draws them at full resolution in NumPy, the same round-capped ``PEN_WIDTH`` line the browser shows — no
  Pillow, no base64, no dependence on the screen's size or pixel ratio;
- testable: tests and AppTest hand the page the same strokes a browser would send;
- the drawing survives navigation and reloads: the session keeps the strokes (``ui.state``), the page passes them
  back and a freshly mounted canvas redraws them.

What a browser may send is bounded twice. The JS never sends more than ``MAX_STROKES`` strokes and ``MAX_POINTS``
points (a stroke stops taking points, and a new one is refused with a note, when the canvas is full), and only
finite numbers. The server does not trust that: ``read_strokes`` refuses a larger or malformed value with a
one-line notice (the drawing stays as it was), and the component's stored value is replaced at once by the
parsed, capped strokes (``state.keep_widget_value``), so a tampered browser's raw value is never kept in the
session (a 24 MB value used to pin about 365 MB of server memory per tab, after the tab closed too). Streamlit
itself still parses whatever arrives, before any app code, up to its ``server.maxWidgetStateSize``; a value that
Python's JSON reader refuses (nested 5,000 deep) is dropped there by ``ui.streamlit_guard``, with a notice.

The JS re-runs whenever ``data`` changes (every stroke, since the strokes travel back in it); it keeps one
controller per canvas element, so listeners are attached once and an in-progress stroke is never wiped by a
rerun. The browser's drawing stays the truth; ``data`` only restores a freshly mounted canvas.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import streamlit as st

from nn.preprocess import CANVAS_SIZE, PEN_WIDTH
from ui import state
from ui.i18n import t

#: Limits on what a (possibly tampered) browser may send; a hand-drawn digit uses a few hundred points.
MAX_STROKES = 100
MAX_POINTS = 20_000

_HTML = """
<div class="sgd-canvas">
  <div class="sgd-pad">
    <canvas role="img"></canvas>
    <div class="sgd-hint"></div>
  </div>
  <div class="sgd-buttons">
    <button type="button" class="sgd-undo">↶</button>
    <button type="button" class="sgd-clear">✕</button>
  </div>
  <div class="sgd-note" role="status" aria-live="polite"></div>
</div>
"""

_CSS = """
.sgd-canvas { display: flex; flex-direction: column; gap: 0.5rem; width: 100%; max-width: var(--sgd-size, 280px); }
.sgd-pad { position: relative; width: 100%; aspect-ratio: 1 / 1; }
.sgd-pad canvas {
  display: block; width: 100%; height: 100%; background: #000; border-radius: 0.5rem;
  touch-action: none; cursor: crosshair; user-select: none; -webkit-user-select: none;
  outline: 2px solid var(--st-border-color, #ccc); outline-offset: 0;
}
.sgd-hint {
  position: absolute; inset: 0; display: flex; align-items: center; justify-content: center;
  color: #9a9a9a; font-family: var(--st-font, sans-serif); font-size: 1.05rem; pointer-events: none;
}
.sgd-hint.hidden { display: none; }
.sgd-buttons { display: flex; gap: 0.5rem; }
.sgd-buttons button {
  flex: 1; padding: 0.35rem 0.75rem; border-radius: 0.5rem; cursor: pointer;
  font-family: var(--st-font, sans-serif); font-size: 0.95rem;
  color: var(--st-text-color, #31333f); background: var(--st-background-color, #fff);
  border: 1px solid var(--st-border-color, #ccc);
}
.sgd-buttons button:hover:not(:disabled) {
  border-color: var(--st-primary-color, #0072b2); color: var(--st-primary-color, #0072b2);
}
.sgd-buttons button:disabled { opacity: 0.45; cursor: default; }
.sgd-note { font-family: var(--st-font, sans-serif); font-size: 0.9rem; color: #b35900; min-height: 0; }
.sgd-note:empty { display: none; }
"""

_JS = """
function createController(root) {
  const canvas = root.querySelector('canvas');
  const hint = root.querySelector('.sgd-hint');
  const undoButton = root.querySelector('.sgd-undo');
  const clearButton = root.querySelector('.sgd-clear');
  const note = root.querySelector('.sgd-note');
  const ctx = canvas.getContext('2d');
  const state = { size: 280, pen: 22, strokes: [], current: null, pointerId: null, send: null,
                  maxStrokes: 100, maxPoints: 20000, full: '' };

  function resize() {
    const rect = canvas.getBoundingClientRect();
    if (!rect.width) return;
    const dpr = window.devicePixelRatio || 1;
    const px = Math.round(rect.width * dpr);
    if (canvas.width !== px || canvas.height !== px) { canvas.width = px; canvas.height = px; }
    redraw();
  }
  function setTransform() {
    const k = canvas.width / state.size;
    ctx.setTransform(k, 0, 0, k, 0, 0);
    ctx.lineCap = 'round'; ctx.lineJoin = 'round';
    ctx.lineWidth = state.pen; ctx.strokeStyle = '#fff'; ctx.fillStyle = '#fff';
  }
  function drawStroke(points) {
    if (!points.length) return;
    if (points.length === 1) {
      ctx.beginPath(); ctx.arc(points[0][0], points[0][1], state.pen / 2, 0, 2 * Math.PI); ctx.fill();
      return;
    }
    ctx.beginPath(); ctx.moveTo(points[0][0], points[0][1]);
    for (let i = 1; i < points.length; i++) ctx.lineTo(points[i][0], points[i][1]);
    ctx.stroke();
  }
  function redraw() {
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = '#000'; ctx.fillRect(0, 0, canvas.width, canvas.height);
    setTransform();
    for (const s of state.strokes) drawStroke(s);
    if (state.current) drawStroke(state.current);
    refresh();
  }
  function refresh() {
    const empty = state.strokes.length === 0 && !state.current;
    hint.classList.toggle('hidden', !empty);
    undoButton.disabled = state.strokes.length === 0;
    clearButton.disabled = state.strokes.length === 0;
  }
  function points() { let n = 0; for (const s of state.strokes) n += s.length; return n; }
  function isFull() { return state.strokes.length >= state.maxStrokes || points() >= state.maxPoints; }
  // Only what the server takes: at most maxStrokes strokes and maxPoints points, each point two finite numbers.
  function clean(strokes) {
    const out = []; let n = 0;
    if (!Array.isArray(strokes)) return out;
    for (const s of strokes) {
      if (out.length >= state.maxStrokes || n >= state.maxPoints) break;
      if (!Array.isArray(s)) continue;
      const kept = [];
      for (const p of s) {
        if (n + kept.length >= state.maxPoints) break;
        if (Array.isArray(p) && typeof p[0] === 'number' && typeof p[1] === 'number'
            && Number.isFinite(p[0]) && Number.isFinite(p[1])) kept.push([p[0], p[1]]);
      }
      if (kept.length) { out.push(kept); n += kept.length; }
    }
    return out;
  }
  function send() {
    const r = (v) => Math.round(v * 10) / 10;
    const strokes = clean(state.strokes.map((s) => s.map((p) => [r(p[0]), r(p[1])])));
    if (state.send) state.send('strokes', strokes);
  }
  function say(text) { note.textContent = text || ''; }
  function point(e) {
    const rect = canvas.getBoundingClientRect();
    return [(e.clientX - rect.left) * state.size / rect.width, (e.clientY - rect.top) * state.size / rect.height];
  }
  function down(e) {
    if (state.pointerId !== null) return;            // one finger or pen at a time
    if (e.pointerType === 'mouse' && e.button !== 0) return;
    e.preventDefault();
    if (isFull()) { say(state.full); return; }          // no stroke beyond the limits
    state.pointerId = e.pointerId;
    try { canvas.setPointerCapture(e.pointerId); } catch (err) { /* synthetic events */ }
    state.current = [point(e)];
    setTransform(); drawStroke(state.current); refresh();
  }
  function move(e) {
    if (e.pointerId !== state.pointerId || !state.current) return;
    e.preventDefault();
    const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [];
    const current = state.current;
    const room = state.maxPoints - points();              // a stroke stops taking points when the canvas is full
    for (const ev of (events.length ? events : [e])) {
      if (current.length >= room) { say(state.full); break; }
      const p = point(ev);
      const last = current[current.length - 1];
      if (Math.hypot(p[0] - last[0], p[1] - last[1]) < 1) continue;   // thin out: at least 1 unit apart
      setTransform();
      ctx.beginPath(); ctx.moveTo(last[0], last[1]); ctx.lineTo(p[0], p[1]); ctx.stroke();
      current.push(p);
    }
  }
  function up(e) {
    if (e.pointerId !== state.pointerId) return;
    state.pointerId = null;
    if (!state.current) return;
    state.strokes.push(state.current);
    state.current = null;
    refresh();
    send();
  }
  function undo() { if (state.strokes.length) { state.strokes.pop(); say(''); redraw(); send(); } }
  function clear() { if (state.strokes.length) { state.strokes = []; say(''); redraw(); send(); } }

  canvas.addEventListener('pointerdown', down);
  canvas.addEventListener('pointermove', move);
  canvas.addEventListener('pointerup', up);
  canvas.addEventListener('pointercancel', up);
  canvas.addEventListener('lostpointercapture', up);
  canvas.addEventListener('contextmenu', (e) => e.preventDefault());
  undoButton.addEventListener('click', undo);
  clearButton.addEventListener('click', clear);
  const observer = new ResizeObserver(resize);
  observer.observe(canvas);

  return {
    configure(data, setStateValue) {
      state.send = setStateValue;
      const size = Number(data.size) || 280, pen = Number(data.pen) || 22;
      const changed = size !== state.size || pen !== state.pen;
      state.size = size; state.pen = pen;
      const limits = data.limits || {};
      state.maxStrokes = Number(limits.strokes) || state.maxStrokes;
      state.maxPoints = Number(limits.points) || state.maxPoints;
      root.style.setProperty('--sgd-size', (data.display || size) + 'px');
      const labels = data.labels || {};                 // the texts in the page's language
      if (labels.hint) hint.textContent = labels.hint;
      if (labels.undo) { undoButton.textContent = labels.undo; undoButton.title = labels.undo_title || ''; }
      if (labels.clear) { clearButton.textContent = labels.clear; clearButton.title = labels.clear_title || ''; }
      if (labels.area) canvas.setAttribute('aria-label', labels.area);
      if (labels.full) state.full = labels.full;
      if (changed) redraw();
    },
    restore(strokes) {
      state.strokes = clean(strokes);
      resize(); refresh();
    },
    destroy() { observer.disconnect(); },
  };
}

export default function (component) {
  const { parentElement, data, setStateValue } = component;
  const root = parentElement.querySelector('.sgd-canvas');
  if (!root) return;
  let controller = root.__sgdController;
  const fresh = !controller;
  if (fresh) { controller = createController(root); root.__sgdController = controller; }
  controller.configure(data || {}, setStateValue);
  if (fresh) controller.restore((data || {}).strokes);
  return () => { controller.destroy(); root.__sgdController = undefined; };
}
"""

_component = st.components.v2.component("sgd_lab.digit_canvas", html=_HTML, css=_CSS, js=_JS)


def _on_strokes(key: str, size: int) -> None:
    """The component's callback: the student drew, undid or cleared (a freshly mounted canvas sends nothing, so
    the drawing kept in the session is never wiped by it)."""
    take_strokes(key, state.widget_value(key), size)


def take_strokes(key: str, value: Any, size: int = CANVAS_SIZE) -> None:
    """Take what canvas ``key`` sent: its strokes become the session's drawing. A value the app does not take (too
    big, not a drawing) changes nothing and says so in one line (``state.flash``). Either way the component keeps
    only the session's parsed, capped strokes: the browser's raw value is dropped here, before the page runs."""
    strokes, problem = read_strokes(value, size)
    if problem is None:
        state.set_strokes(strokes_to_json(strokes))
    else:
        state.flash(t(f"canvas.{problem}", strokes=MAX_STROKES, points=f"{MAX_POINTS:,}"))
    state.keep_widget_value(key, {"strokes": strokes_to_json(parse_strokes(state.strokes(), size))})


def read_strokes(value: Any, size: int = CANVAS_SIZE) -> tuple[list[np.ndarray] | None, str | None]:
    """The strokes of a value the browser sent, or None and why they are not taken: ``"too_big"`` (more than
    ``MAX_STROKES`` strokes or ``MAX_POINTS`` points: the JS never sends that) or ``"unreadable"`` (not a list of
    strokes of (x, y) number pairs). Never recursive, whatever the nesting; points far outside are clamped."""
    if isinstance(value, dict):
        value = value.get("strokes")
    if not isinstance(value, list):
        return None, "unreadable"
    if len(value) > MAX_STROKES:
        return None, "too_big"
    if not all(isinstance(stroke, list) for stroke in value):
        return None, "unreadable"
    if sum(len(stroke) for stroke in value) > MAX_POINTS:
        return None, "too_big"
    strokes = parse_strokes(value, size)
    if sum(len(s) for s in strokes) != sum(len(stroke) for stroke in value):
        return None, "unreadable"  # a point that is not two finite numbers
    return strokes, None


def parse_strokes(value: Any, size: int = CANVAS_SIZE) -> list[np.ndarray]:
    """The strokes in a canvas value (``{"strokes": [[[x, y], ...], ...]}`` or the bare list), validated.

    The browser's data is untrusted: anything that is not a list of (x, y) number pairs is dropped, points far
    outside the canvas are clamped, and at most ``MAX_STROKES`` strokes of ``MAX_POINTS`` points in all are kept.
    """
    if isinstance(value, dict):
        value = value.get("strokes")
    if not isinstance(value, (list, tuple)):
        return []
    strokes, total = [], 0
    for stroke in value[:MAX_STROKES]:
        if not isinstance(stroke, (list, tuple)):
            continue
        points = [
            (float(p[0]), float(p[1]))
            for p in stroke[: MAX_POINTS - total]
            if isinstance(p, (list, tuple)) and len(p) == 2 and _is_coordinate(p[0]) and _is_coordinate(p[1])
        ]
        if points:
            strokes.append(np.clip(np.array(points, dtype=np.float64), -size, 2 * size))
            total += len(points)
        if total >= MAX_POINTS:
            break
    return strokes


def _is_coordinate(v: Any) -> bool:
    """A finite number (a whole number too large for a float, as JSON allows, is not one)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    return -1e308 < v < 1e308 if isinstance(v, int) else math.isfinite(v)


def strokes_to_json(strokes: list[np.ndarray]) -> list[list[list[float]]]:
    return [np.round(s, 1).tolist() for s in strokes]


#: The canvas's own texts (i18n keys canvas.<name>), sent to its JS with the data (the HTML above has none, so
#: that it reads the same in every language).
CANVAS_LABELS = ("hint", "undo", "undo_title", "clear", "clear_title", "area", "full")


def digit_canvas(key: str, *, size: int = CANVAS_SIZE, pen: float = PEN_WIDTH, display: int | None = None):
    """Show the canvas with the session's drawing and return its strokes (a list of (n, 2) arrays of x, y in
    ``size`` units). The drawing is the session's (``state.strokes``): it stays through page visits, language
    switches and reloads until the student clears it.

    ``display`` is the on-screen side in CSS pixels (default ``size``; narrower screens shrink it to fit).
    """
    current = parse_strokes(state.strokes(), size)
    kept = {"strokes": strokes_to_json(current)}
    # What the component holds on the server is the session's drawing and nothing else (not a value a tampered
    # browser sent under another name), and a freshly mounted canvas starts from it: so the first Clear after a
    # reload or a page visit is a change the callback sees.
    state.keep_widget_value(key, kept)
    labels = {name: t(f"canvas.{name}", strokes=MAX_STROKES, points=f"{MAX_POINTS:,}") for name in CANVAS_LABELS}
    _component(
        key=key,
        data={"size": size, "pen": pen, "display": display or size, "strokes": kept["strokes"], "labels": labels,
              "limits": {"strokes": MAX_STROKES, "points": MAX_POINTS}},
        default=kept,
        on_strokes_change=lambda: _on_strokes(key, size),
    )
    return current
