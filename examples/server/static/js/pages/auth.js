// Sign-in and account creation.

import { api, setToken } from '../api.js';
import { add, announce, field, formError, h, pageTitle } from '../dom.js';

const REGISTERED_EMAIL = 'modelyard.registeredEmail';

export function login(main, _params, ctx) {
  const email = h('input', { name: 'email', type: 'email', autocomplete: 'username', required: true, 'data-testid': 'login-email' });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true, 'data-testid': 'login-password' });
  const justRegistered = sessionStorage.getItem(REGISTERED_EMAIL);
  if (justRegistered) {
    email.value = justRegistered;
    sessionStorage.removeItem(REGISTERED_EMAIL);
  }
  const submit = h('button', { type: 'submit', 'data-testid': 'login-submit' }, 'Sign in');
  const form = h('form', { class: 'card narrow', 'data-testid': 'login-form', novalidate: false });
  const error = formError(form);
  add(form,
    justRegistered ? h('p', { class: 'notice', role: 'status', 'data-testid': 'registered-notice' }, 'Account created. Sign in to continue.') : null,
    field('Email', email),
    field('Password', password),
    error.el,
    h('div', { class: 'actions' }, submit),
    h('p', {}, 'No account yet? ', h('a', { href: '#/register', 'data-testid': 'to-register' }, 'Create one')),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.clear();
    submit.disabled = true;
    try {
      const session = await api('POST', '/api/auth/login', {
        body: { email: email.value.trim(), password: password.value },
        guarded: false,
      });
      setToken(session.token);
      ctx.signedIn(session);
      announce(`Signed in as ${session.user.username}.`);
      ctx.go('/');
    } catch (err) {
      error.show(err.status === 401 ? { message: 'Wrong email or password.' } : err);
    } finally {
      submit.disabled = false;
    }
  });
  add(main, h('section', { class: 'auth' }, pageTitle('Sign in to Modelyard'), form));
  if (justRegistered) password.focus();
}

export function register(main, _params, ctx) {
  const username = h('input', { name: 'username', autocomplete: 'username', required: true, 'data-testid': 'register-username', pattern: '[A-Za-z0-9_.\\-]{3,32}' });
  const email = h('input', { name: 'email', type: 'email', autocomplete: 'email', required: true, 'data-testid': 'register-email' });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'new-password', required: true, 'data-testid': 'register-password' });
  const submit = h('button', { type: 'submit', 'data-testid': 'register-submit' }, 'Create account');
  const form = h('form', { class: 'card narrow', 'data-testid': 'register-form' });
  const error = formError(form);
  add(form,
    field('Username', username, '3 to 32 letters, digits, dots, dashes or underscores.'),
    field('Email', email),
    field('Password', password, 'At least 8 characters; common passwords are refused.'),
    error.el,
    h('div', { class: 'actions' }, submit),
    h('p', {}, 'Have an account? ', h('a', { href: '#/login', 'data-testid': 'to-login' }, 'Sign in')),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.clear();
    submit.disabled = true;
    try {
      await api('POST', '/api/auth/register', {
        body: { username: username.value.trim(), email: email.value.trim(), password: password.value },
        guarded: false,
      });
      sessionStorage.setItem(REGISTERED_EMAIL, email.value.trim());
      announce('Account created. Sign in to continue.');
      ctx.go('/login');
    } catch (err) {
      error.show(err);
    } finally {
      submit.disabled = false;
    }
  });
  add(main, h('section', { class: 'auth' }, pageTitle('Create an account'), form));
}
