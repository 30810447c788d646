// The player's and the live viewer's canvas, sampled from a test: a pixel,
// waiting for a colour, and a seek through the player's own seek bar.
import type { Page } from 'playwright-core';

export function pixel(page: Page, px: number, py: number): Promise<number[]> {
  return page.evaluate(([cx, cy]) => {
    const canvas = document.querySelector('#screen canvas') as HTMLCanvasElement | null;
    if (!canvas || canvas.width === 0) return [-1, -1, -1];
    return Array.from(canvas.getContext('2d')!.getImageData(cx!, cy!, 1, 1).data.slice(0, 3));
  }, [px, py]);
}

const close = (a: number[], b: number[]) => a.every((v, i) => Math.abs(v - b[i]!) <= 3);

export async function waitForPixel(page: Page, px: number, py: number, rgb: number[], timeout = 15_000): Promise<void> {
  const deadline = Date.now() + timeout;
  let last: number[] = [];
  while (Date.now() < deadline) {
    last = await pixel(page, px, py);
    if (close(last, rgb)) return;
    await page.waitForTimeout(50);
  }
  throw new Error(`pixel (${px},${py}) is ${last.join(',')}, expected ${rgb.join(',')}`);
}

/** Seeks through the player's own seek bar (as a drag would). */
export async function seekTo(page: Page, ms: number): Promise<void> {
  await page.evaluate((to) => {
    const seek = document.getElementById('seek') as HTMLInputElement;
    seek.value = String(to);
    seek.dispatchEvent(new Event('input', { bubbles: true }));
  }, ms);
}
