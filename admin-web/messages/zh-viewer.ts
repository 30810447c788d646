// Words of issue 31, Simplified Chinese (see en-viewer.ts).
import type { enViewer } from './en-viewer.ts';

export const zhViewer: Record<keyof typeof enViewer, string> = {
  'viewer.keyboard': '键盘',
  'viewer.keyboardInput': '在此输入，按键将发送到用户的电脑',
  'viewer.keys': '特殊键',
  'viewer.drawer': '聊天和参与者',
  'viewer.drawerClose': '返回屏幕',
  'viewer.key.super': 'Windows 键',
  'viewer.key.left': '左箭头',
  'viewer.key.up': '上箭头',
  'viewer.key.right': '右箭头',
  'viewer.key.down': '下箭头',
  'js.viewer.zoomed': '缩放 {percent}%：双指移动画面，捏合缩放。',
};
