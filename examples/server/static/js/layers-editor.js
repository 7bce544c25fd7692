// An editor for a model's hidden layers: Dense (units, activation), Dropout (rate), BatchNorm.

import { fill, h } from './dom.js';

const ACTIVATIONS = ['relu', 'gelu', 'tanh', 'sigmoid', 'linear'];

/** The layers a model gets when the user changes nothing (core's default). */
export function defaultLayers() {
  return [
    { type: 'dense', units: 64, activation: 'relu' },
    { type: 'dense', units: 32, activation: 'relu' },
  ];
}

/** Returns `{ el, value() }`; `value()` gives the layers as the API takes them. */
export function layersEditor(initial = defaultLayers()) {
  let layers = initial.map((l) => ({ ...l }));
  const listEl = h('ol', { class: 'layers', 'data-testid': 'layers-list' });
  const el = h('fieldset', { class: 'layers-editor', 'data-testid': 'layers-editor' },
    h('legend', {}, 'Hidden layers'),
    h('p', { class: 'hint' }, 'Between the inputs and the output layer, in order. The output layer is added for you.'),
    listEl,
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'secondary', 'data-testid': 'add-dense', onclick: () => add({ type: 'dense', units: 32, activation: 'relu' }) }, 'Add dense layer'),
      h('button', { type: 'button', class: 'secondary', 'data-testid': 'add-dropout', onclick: () => add({ type: 'dropout', rate: 0.2 }) }, 'Add dropout'),
      h('button', { type: 'button', class: 'secondary', 'data-testid': 'add-batchnorm', onclick: () => add({ type: 'batch_norm' }) }, 'Add batch norm')));

  function add(layer) {
    layers.push(layer);
    render();
    listEl.lastElementChild?.querySelector('input, select')?.focus();
  }

  function remove(i) {
    layers.splice(i, 1);
    render();
    // Keep keyboard focus in the editor: on the row that took this one's place, else on "Add".
    const row = listEl.children[Math.min(i, layers.length - 1)];
    (row?.querySelector('input, select') ?? el.querySelector('[data-testid=add-dense]')).focus();
  }

  function move(i, delta) {
    const j = i + delta;
    if (j < 0 || j >= layers.length) return;
    [layers[i], layers[j]] = [layers[j], layers[i]];
    render();
    const buttons = [...(listEl.children[j]?.querySelectorAll('[data-move]') ?? [])].filter((b) => !b.disabled);
    (buttons.find((b) => b.dataset.move === (delta < 0 ? 'up' : 'down')) ?? buttons[0])?.focus();
  }

  function render() {
    fill(listEl, ...layers.map((layer, i) => {
      const n = i + 1;
      const controls = [];
      if (layer.type === 'dense') {
        const units = h('input', {
          type: 'number', min: 1, max: 65536, step: 1, required: true, value: layer.units,
          id: `layer-${n}-units`, 'data-testid': 'layer-units',
          oninput: (e) => { layer.units = Number(e.target.value); },
        });
        const activation = h('select', {
          id: `layer-${n}-activation`, 'data-testid': 'layer-activation',
          onchange: (e) => { layer.activation = e.target.value; },
        }, ACTIVATIONS.map((a) => h('option', { value: a, selected: a === layer.activation }, a)));
        controls.push(
          h('label', { for: units.id }, 'Units'), units,
          h('label', { for: activation.id }, 'Activation'), activation);
      } else if (layer.type === 'dropout') {
        const rate = h('input', {
          type: 'number', min: 0, max: 0.99, step: 0.05, required: true, value: layer.rate,
          id: `layer-${n}-rate`, 'data-testid': 'layer-rate',
          oninput: (e) => { layer.rate = Number(e.target.value); },
        });
        controls.push(h('label', { for: rate.id }, 'Rate'), rate);
      }
      const title = { dense: 'Dense', dropout: 'Dropout', batch_norm: 'Batch norm' }[layer.type];
      return h('li', { class: 'layer', 'data-testid': 'layer-row' },
        h('span', { class: 'layer-title' }, `${n}. ${title}`),
        h('span', { class: 'layer-controls' }, controls),
        h('span', { class: 'layer-buttons' },
          h('button', { type: 'button', class: 'icon', 'aria-label': `Move layer ${n} up`, 'data-move': 'up', disabled: i === 0, onclick: () => move(i, -1) }, '↑'),
          h('button', { type: 'button', class: 'icon', 'aria-label': `Move layer ${n} down`, 'data-move': 'down', disabled: i === layers.length - 1, onclick: () => move(i, 1) }, '↓'),
          h('button', {
            type: 'button', class: 'icon danger', 'aria-label': `Remove layer ${n}`, 'data-testid': 'layer-remove',
            onclick: () => remove(i),
          }, '✕')));
    }));
    if (layers.length === 0) listEl.append(h('li', { class: 'empty' }, 'No hidden layers: a linear model.'));
  }

  render();
  return {
    el,
    value: () => layers.map((l) => {
      if (l.type === 'dense') return { type: 'dense', units: l.units, activation: l.activation };
      if (l.type === 'dropout') return { type: 'dropout', rate: l.rate };
      return { type: l.type };
    }),
  };
}
