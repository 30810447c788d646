import { describe, expect, it } from 'vitest';
import { clipOf, monitorLabel, parseMonitors } from './monitors.ts';

describe('parseMonitors', () => {
  it('reads real outputs, primary first as listed', () => {
    const text = 'Monitors: 2\n 0: +*DP-1 1920/527x1080/296+0+0  DP-1\n 1: +HDMI-2 1280/338x1024/270+1920+0  HDMI-2\n';
    const monitors = parseMonitors(text);
    expect(monitors).toEqual([
      { name: 'DP-1', width: 1920, height: 1080, x: 0, y: 0, primary: true },
      { name: 'HDMI-2', width: 1280, height: 1024, x: 1920, y: 0, primary: false },
    ]);
    expect(monitors.map(clipOf)).toEqual(['1920x1080+0+0', '1280x1024+1920+0']);
    expect(monitorLabel(monitors[1]!)).toBe('HDMI-2 1280×1024');
  });

  it('leaves out the whole-screen entry beside virtual monitors, and offers no choice for one', () => {
    const text = 'Monitors: 3\n 0: LEFT 800/200x600/150+0+0 \n 1: RIGHT 640/160x480/120+800+0 \n 2: +screen 1440/381x600/159+0+0  screen\n';
    expect(parseMonitors(text).map((m) => m.name)).toEqual(['LEFT', 'RIGHT']);
    expect(parseMonitors('Monitors: 1\n 0: +screen 1024/270x768/203+0+0  screen\n')).toHaveLength(1);
    expect(parseMonitors('garbage')).toEqual([]);
  });
});
