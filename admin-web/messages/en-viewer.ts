// Words of issue 31, English: the viewer on a phone (the keyboard button, the
// special keys menu, the drawer with chat, files and people). Keys under "js."
// go to the browser scripts too. Part of the catalogue en.ts.
export const enViewer = {
  'viewer.keyboard': 'Keyboard',
  'viewer.keyboardInput': 'Type here to send keys to the user\'s computer',
  'viewer.keys': 'Keys',
  'viewer.drawer': 'Chat and people',
  'viewer.drawerClose': 'Back to the screen',
  'viewer.key.super': 'Windows key',
  'viewer.key.left': 'Left arrow',
  'viewer.key.up': 'Up arrow',
  'viewer.key.right': 'Right arrow',
  'viewer.key.down': 'Down arrow',
  'js.viewer.zoomed': 'Zoom {percent}%: two fingers move the picture, a pinch zooms.',
} as const;
