// The viewer's controls beside noVNC's own input, made for a phone first
// (issue 31), all of them working on a desktop window too:
//   - the stage: one finger stays noVNC's (a tap clicks, a drag drags, a long
//     press is a right click); two fingers are the page's: a pinch zooms the
//     remote screen (1× fits it in the viewport, up to MAX_ZOOM) and a
//     two-finger drag pans it. noVNC's gesture events are caught on their way
//     to its canvas (capture phase), so it never sees those two;
//   - the keyboard button opens the phone's keyboard on a text field whose
//     typing is sent as key presses (a phone's keyboard gives text, not keys);
//   - the keys menu sends what a phone lacks (Esc, Tab, F-keys, Ctrl+Alt+Del);
//   - the drawer holds chat, files and people (a side column on a wide window).
import { t } from '/assets/i18n.js';

const MAX_ZOOM = 4;
/** The keys a phone's keyboard names in its keydown (the rest arrives as text). */
const NAMED_KEYS = { Backspace: 0xff08, Enter: 0xff0d, Tab: 0xff09, Escape: 0xff1b, Delete: 0xffff, ArrowLeft: 0xff51, ArrowUp: 0xff52, ArrowRight: 0xff53, ArrowDown: 0xff54 };
/** Kept in the field so a phone's Backspace has something to delete (it sends no key for an empty field). */
const SENTINEL = ' ';

/** The box noVNC draws into, inside `screen`, zoomed and panned by two fingers. */
export function zoomStage(screen, say) {
  const box = document.createElement('div');
  box.id = 'zoom';
  box.className = 'zoom';
  screen.replaceChildren(box);
  let zoom = 1;
  let pinch = null;
  let pan = null;
  const setZoom = (wanted, fx, fy) => {
    const before = zoom;
    zoom = Math.min(MAX_ZOOM, Math.max(1, wanted));
    const left = ((screen.scrollLeft + fx) / before) * zoom - fx;
    const top = ((screen.scrollTop + fy) / before) * zoom - fy;
    box.style.width = box.style.height = `${zoom * 100}%`;
    screen.scrollLeft = left;
    screen.scrollTop = top;
    screen.dataset.zoom = zoom.toFixed(2);
  };
  const ours = (e) => e.detail?.type === 'pinch' || e.detail?.type === 'twodrag';
  screen.addEventListener('gesturestart', (e) => {
    if (!ours(e)) return;
    e.stopPropagation();
    const r = screen.getBoundingClientRect();
    const { clientX, clientY, magnitudeX, magnitudeY } = e.detail;
    if (e.detail.type === 'pinch') pinch = { zoom, distance: Math.hypot(magnitudeX, magnitudeY) || 1, fx: clientX - r.left, fy: clientY - r.top };
    else pan = { left: screen.scrollLeft, top: screen.scrollTop };
  }, true);
  screen.addEventListener('gesturemove', (e) => {
    if (!ours(e)) return;
    e.stopPropagation();
    const { magnitudeX, magnitudeY } = e.detail;
    if (e.detail.type === 'pinch' && pinch) setZoom((pinch.zoom * Math.hypot(magnitudeX, magnitudeY)) / pinch.distance, pinch.fx, pinch.fy);
    else if (pan) {
      screen.scrollLeft = pan.left - magnitudeX;
      screen.scrollTop = pan.top - magnitudeY;
    }
  }, true);
  screen.addEventListener('gestureend', (e) => {
    if (!ours(e)) return;
    e.stopPropagation();
    if (pinch && zoom > 1) say(t('js.viewer.zoomed', { percent: Math.round(zoom * 100) }));
    pinch = pan = null;
  }, true);
  return { box, reset: () => setZoom(1, 0, 0) };
}

/** The keyboard button: focusing the field opens the phone's keyboard; what is typed there goes to the remote computer. */
export function phoneKeyboard(button, field, viewer) {
  const reset = () => {
    field.value = SENTINEL;
    field.setSelectionRange(SENTINEL.length, SENTINEL.length);
  };
  button.addEventListener('click', () => {
    reset();
    field.focus();
    button.setAttribute('aria-pressed', 'true');
  });
  field.addEventListener('blur', () => button.setAttribute('aria-pressed', 'false'));
  field.addEventListener('keydown', (e) => {
    const keysym = NAMED_KEYS[e.key];
    if (keysym === undefined || e.isComposing) return;
    e.preventDefault();
    viewer()?.sendKeys([keysym]);
  });
  field.addEventListener('input', (e) => {
    if (e.isComposing || e.inputType === 'insertCompositionText') return;
    if (e.inputType === 'deleteContentBackward') viewer()?.sendKeys([NAMED_KEYS.Backspace]);
    else if (e.inputType === 'insertLineBreak') viewer()?.sendKeys([NAMED_KEYS.Enter]);
    else if (e.data) viewer()?.typeText(e.data);
    reset();
  });
  field.addEventListener('compositionend', (e) => {
    if (e.data) viewer()?.typeText(e.data);
    reset();
  });
}

/** The keys menu: each button presses its keysyms in order and releases them in reverse. */
export function keysMenu(menu, viewer) {
  menu.addEventListener('click', (e) => {
    const button = e.target.closest('button[data-keys]');
    if (button) viewer()?.sendKeys(button.dataset.keys.split(' ').map(Number));
  });
}

/** The drawer of chat, files and people on a phone; a message arriving while it is closed marks its button. */
export function drawer(openButton, closeButton, side) {
  const body = document.body;
  const set = (open) => {
    body.dataset.drawer = open ? 'open' : 'closed';
    openButton.setAttribute('aria-expanded', String(open));
    if (open) openButton.classList.remove('unread');
    (open ? closeButton : openButton).focus();
  };
  openButton.addEventListener('click', () => set(body.dataset.drawer !== 'open'));
  closeButton.addEventListener('click', () => set(false));
  side.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && body.dataset.drawer === 'open') set(false);
  });
  const log = side.querySelector('.chat-log');
  if (log) new MutationObserver(() => body.dataset.drawer !== 'open' && openButton.classList.add('unread')).observe(log, { childList: true });
}

/** Scale to fit / 1:1, and Fullscreen. */
export function viewButtons(scale, fullscreen, screen, viewer) {
  scale.addEventListener('click', () => {
    const fit = scale.getAttribute('aria-pressed') !== 'true';
    scale.setAttribute('aria-pressed', String(fit));
    scale.textContent = fit ? t('js.viewer.scaleFit') : t('js.viewer.scaleNative');
    viewer()?.setScale(fit ? 'fit' : 'native');
  });
  fullscreen.addEventListener('click', () => {
    if (document.fullscreenElement) void document.exitFullscreen();
    else void screen.requestFullscreen?.();
  });
}

/** Ctrl+Alt+Shift+F leaves the remote screen for the toolbar's first control shown (every key goes to the remote inside it). */
export function toolbarShortcut(toolbar, onLeave) {
  window.addEventListener(
    'keydown',
    (event) => {
      if (!(event.ctrlKey && event.altKey && event.shiftKey && event.code === 'KeyF')) return;
      event.preventDefault();
      event.stopImmediatePropagation();
      const shown = [...toolbar.querySelectorAll('button, a, summary')].find((b) => !b.hidden && !b.disabled && b.offsetParent !== null);
      shown?.focus();
      onLeave();
    },
    true,
  );
}
