// Words of issue 31, Spanish (see en-viewer.ts).
import type { enViewer } from './en-viewer.ts';

export const esViewer: Record<keyof typeof enViewer, string> = {
  'viewer.keyboard': 'Teclado',
  'viewer.keyboardInput': 'Escriba aquí para enviar teclas al equipo del usuario',
  'viewer.keys': 'Teclas',
  'viewer.drawer': 'Chat y personas',
  'viewer.drawerClose': 'Volver a la pantalla',
  'viewer.key.super': 'Tecla Windows',
  'viewer.key.left': 'Flecha izquierda',
  'viewer.key.up': 'Flecha arriba',
  'viewer.key.right': 'Flecha derecha',
  'viewer.key.down': 'Flecha abajo',
  'js.viewer.zoomed': 'Zoom {percent} %: dos dedos mueven la imagen; pellizque para acercar.',
};
