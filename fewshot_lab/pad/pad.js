// The drawing pad's view (fewshot_lab.pad.DrawingPad): strokes are drawn here and sent to the kernel when they end.
const SIDE = 280; // CSS pixels of the canvas

function render({ model, el }) {
  el.classList.add("fsl-pad");
  const canvas = document.createElement("canvas");
  const scale = window.devicePixelRatio || 1;
  canvas.width = SIDE * scale;
  canvas.height = SIDE * scale;
  canvas.style.width = `${SIDE}px`;
  canvas.style.height = `${SIDE}px`;
  canvas.className = "fsl-pad-canvas";
  const context = canvas.getContext("2d");
  context.scale(scale, scale);

  const buttons = document.createElement("div");
  buttons.className = "fsl-pad-buttons";
  const clear = button("clear", () => setStrokes([]));
  const undo = button("undo", () => setStrokes(model.get("strokes").slice(0, -1)));
  const adders = document.createElement("span");
  buttons.append(clear, undo, adders);

  const message = document.createElement("div");
  message.className = "fsl-pad-message";
  const classes = document.createElement("div");
  classes.className = "fsl-pad-classes";
  el.append(canvas, buttons, message, classes);

  let stroke = null; // the stroke being drawn: [x, y] points in [0, 1]

  function button(text, onClick) {
    const element = document.createElement("button");
    element.textContent = text;
    element.addEventListener("click", onClick);
    return element;
  }

  function setStrokes(strokes) {
    model.set("strokes", strokes);
    model.save_changes();
  }

  function point(event) {
    const box = canvas.getBoundingClientRect();
    const clamp = (value) => Math.min(1, Math.max(0, value));
    return [clamp((event.clientX - box.left) / box.width), clamp((event.clientY - box.top) / box.height)];
  }

  function drawStroke(points) {
    context.beginPath();
    context.moveTo(points[0][0] * SIDE, points[0][1] * SIDE);
    for (const [x, y] of points) context.lineTo(x * SIDE, y * SIDE);
    if (points.length === 1) context.lineTo(points[0][0] * SIDE + 0.1, points[0][1] * SIDE);
    context.stroke();
  }

  function redraw() {
    context.fillStyle = "white";
    context.fillRect(0, 0, SIDE, SIDE);
    context.strokeStyle = "black";
    context.lineWidth = SIDE * 0.03;
    context.lineCap = "round";
    context.lineJoin = "round";
    for (const points of model.get("strokes")) drawStroke(points);
    if (stroke) drawStroke(stroke);
    undo.disabled = clear.disabled = model.get("strokes").length === 0;
  }

  canvas.addEventListener("pointerdown", (event) => {
    canvas.setPointerCapture(event.pointerId);
    stroke = [point(event)];
    redraw();
    event.preventDefault();
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!stroke) return;
    stroke.push(point(event));
    drawStroke(stroke.slice(-2));
  });
  const end = () => {
    if (!stroke) return;
    const finished = stroke;
    stroke = null;
    setStrokes([...model.get("strokes"), finished]); // the kernel hears of a stroke once, when it ends
    redraw();
  };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);

  function showClasses() {
    adders.replaceChildren(
      ...model.get("labels").map((label) =>
        // the drawing goes with the request, and the canvas is cleared here, at once: ipywidgets may hold back a
        // state update while the kernel is busy, so neither a late stroke nor a late "cleared" may be waited for
        button(`add to ${label}`, () => {
          model.send({ action: "add", label, strokes: model.get("strokes") });
          setStrokes([]);
        }),
      ),
    );
    const thumbnails = model.get("thumbnails");
    classes.replaceChildren(
      ...model.get("labels").map((label) => {
        const row = document.createElement("div");
        row.className = "fsl-pad-class";
        const name = document.createElement("span");
        name.textContent = `${label} (${(thumbnails[label] || []).length})`;
        row.append(name);
        for (const url of thumbnails[label] || []) {
          const image = document.createElement("img");
          image.src = url;
          image.alt = label;
          row.append(image);
        }
        return row;
      }),
    );
  }

  model.on("change:strokes", redraw);
  model.on("change:labels", showClasses);
  model.on("change:thumbnails", showClasses);
  model.on("change:message", () => (message.textContent = model.get("message")));
  redraw();
  showClasses();
  message.textContent = model.get("message");
}

export default { render };
