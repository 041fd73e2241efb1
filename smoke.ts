import { PGlite } from '@electric-sql/pglite'
let t0=Date.now()
const pg = new PGlite('/tmp/smoke/data'); await pg.waitReady; console.log('reopen', Date.now()-t0)
t0=Date.now(); const m = new PGlite(); await m.waitReady; console.log('mem', Date.now()-t0)
