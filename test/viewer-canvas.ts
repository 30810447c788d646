// The technician's viewer in Chromium, read and touched through its canvas:
// a pixel of the remote screen, and a click at a point of the remote screen.
import type { Page } from 'playwright-core';

/** The [r, g, b] the viewer shows at (px, py) of the remote screen. */
export async function pixel(page: Page, px: number, py: number): Promise<number[]> {
  return page.evaluate(([cx, cy]) => {
    const canvas = document.querySelector('#screen canvas') as HTMLCanvasElement;
    return Array.from(canvas.getContext('2d')!.getImageData(cx!, cy!, 1, 1).data.slice(0, 3));
  }, [px, py]);
}

/** Clicks the viewer where it shows (fx, fy) of the remote screen, whatever its scale. */
export async function remoteClick(page: Page, fx: number, fy: number): Promise<void> {
  const box = (await page.locator('#screen canvas').boundingBox())!;
  const [w, h] = await page.evaluate(() => {
    const c = document.querySelector('#screen canvas') as HTMLCanvasElement;
    return [c.width, c.height];
  });
  await page.mouse.click(box.x + (fx * box.width) / w!, box.y + (fy * box.height) / h!);
}
