/** Cosine similarity of embeddings, and its matrix drawn as a heatmap on a plain canvas. */

const norm = (v: ReadonlyArray<number>) => Math.sqrt(v.reduce((sum, x) => sum + x * x, 0))

/** The cosine similarity of every pair of vectors (1 on the diagonal of non-zero vectors). */
export const cosineMatrix = (vectors: ReadonlyArray<ReadonlyArray<number>>): Array<Array<number>> => {
  const norms = vectors.map(norm)
  return vectors.map((a, i) =>
    vectors.map((b, j) => {
      let dot = 0
      for (let k = 0; k < a.length; k++) dot += a[k]! * (b[k] ?? 0)
      const scale = norms[i]! * norms[j]!
      return scale === 0 ? 0 : dot / scale
    })
  )
}

/** -1 → blue, 0 → white, 1 → red. */
const colour = (value: number): string => {
  const t = Math.max(-1, Math.min(1, value))
  const fade = Math.round(255 * (1 - Math.abs(t)))
  return t >= 0 ? `rgb(255, ${fade}, ${fade})` : `rgb(${fade}, ${fade}, 255)`
}

/** Draws `matrix` on `canvas`: one square a pair, its value written in it, rows labelled 1…n. */
export const drawHeatmap = (canvas: HTMLCanvasElement, matrix: ReadonlyArray<ReadonlyArray<number>>): void => {
  const n = matrix.length
  const cell = Math.max(36, Math.min(80, Math.floor(480 / Math.max(1, n))))
  const margin = 24
  const size = margin + n * cell
  const ratio = window.devicePixelRatio || 1
  canvas.width = size * ratio
  canvas.height = size * ratio
  canvas.style.width = `${size}px`
  canvas.style.height = `${size}px`
  const context = canvas.getContext("2d")
  if (context === null) return
  context.scale(ratio, ratio)
  context.clearRect(0, 0, size, size)
  context.font = "12px system-ui, sans-serif"
  context.textAlign = "center"
  context.textBaseline = "middle"
  for (let i = 0; i < n; i++) {
    context.fillStyle = "#333"
    context.fillText(String(i + 1), margin + i * cell + cell / 2, margin / 2)
    context.fillText(String(i + 1), margin / 2, margin + i * cell + cell / 2)
    for (let j = 0; j < n; j++) {
      const value = matrix[i]![j]!
      context.fillStyle = colour(value)
      context.fillRect(margin + j * cell, margin + i * cell, cell - 1, cell - 1)
      context.fillStyle = Math.abs(value) > 0.6 ? "#fff" : "#111"
      context.fillText(value.toFixed(2), margin + j * cell + cell / 2, margin + i * cell + cell / 2)
    }
  }
}
