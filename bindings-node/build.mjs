// `npm install` builds the addon from source (the `prepare` script): `napi build` in the
// `bindings` profile (optimised, no LTO: minutes on 2 cores, not the workspace's fat-LTO
// release), writing modelyard.<platform>.node, index.js and index.d.ts beside this file.
// MODELYARD_BUILD_PROFILE picks another cargo profile (CI builds `dev`, sharing the Rust test
// step's artifacts).
import { spawnSync } from 'node:child_process'

const profile = process.env.MODELYARD_BUILD_PROFILE || 'bindings'
const args = ['build', '--platform', '--js', 'index.js', '--dts', 'index.d.ts']
// napi looks for the artifact under the profile's name, but cargo's `dev` builds into `debug`:
// the default profile needs no flag.
if (profile !== 'dev') args.push('--profile', profile)
const built = spawnSync('napi', args, { stdio: 'inherit', shell: process.platform === 'win32' })
if (built.error) throw built.error
process.exit(built.status ?? 1)
