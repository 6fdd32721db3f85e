export const id = 37;
export const ids = [37];
export const modules = {

/***/ 6037:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   parseCloudsYaml: () => (/* binding */ parseCloudsYaml)
/* harmony export */ });
/* harmony import */ var yaml__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(8815);
/* harmony import */ var _errors_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(3916);


/**
 * Reading the standard `clouds.yaml` (and its `secure.yaml` companion) the way openstacksdk and the
 * `openstack` CLI do, and turning the chosen cloud into the `OS_*` variables an OpenRC would set,
 * so the caller can treat the file as one more layer of `OS_*` values.
 *
 * The text comes from a secret, so parsing is bounded (size, aliases) and no message ever repeats a
 * value or a line of it: errors name a key path, a line number or a cloud name.
 */
/**
 * A clouds.yaml is a few kilobytes and a GitHub secret at most 48 KB; the cap also bounds the
 * parser's time on pathological nesting (about a second at this size).
 */
const MAX_YAML_LENGTH = 256 * 1024;
/**
 * Legitimate files use an anchor for shared settings a handful of times (`<<: *defaults`); the
 * library's default (100) still lets a "billion laughs" document grow a lot before it stops.
 */
const MAX_ALIAS_COUNT = 50;
/** Cloud names listed in an error, so a hostile file cannot make the message huge. */
const MAX_LISTED_CLOUDS = 20;
const SOURCES = [
    { variable: 'OS_AUTH_URL', keys: ['auth_url'], where: 'auth' },
    { variable: 'OS_USERNAME', keys: ['username', 'user_name'], where: 'auth' },
    { variable: 'OS_USER_ID', keys: ['user_id'], where: 'auth' },
    { variable: 'OS_PASSWORD', keys: ['password'], where: 'auth' },
    { variable: 'OS_USER_DOMAIN_NAME', keys: ['user_domain_name'], where: 'top-first' },
    { variable: 'OS_USER_DOMAIN_ID', keys: ['user_domain_id'], where: 'top-first' },
    // `tenant_*` are Keystone v2's names for projects; openstacksdk lets project_* win.
    { variable: 'OS_PROJECT_ID', keys: ['project_id', 'tenant_id'], where: 'top-first' },
    { variable: 'OS_PROJECT_NAME', keys: ['project_name', 'tenant_name'], where: 'top-first' },
    { variable: 'OS_PROJECT_DOMAIN_NAME', keys: ['project_domain_name'], where: 'top-first' },
    { variable: 'OS_PROJECT_DOMAIN_ID', keys: ['project_domain_id'], where: 'top-first' },
    { variable: 'OS_DOMAIN_NAME', keys: ['domain_name'], where: 'top-first' },
    { variable: 'OS_DOMAIN_ID', keys: ['domain_id'], where: 'top-first' },
    { variable: 'OS_SYSTEM_SCOPE', keys: ['system_scope'], where: 'auth' },
    { variable: 'OS_APPLICATION_CREDENTIAL_ID', keys: ['application_credential_id'], where: 'auth' },
    { variable: 'OS_APPLICATION_CREDENTIAL_NAME', keys: ['application_credential_name'], where: 'auth' },
    { variable: 'OS_APPLICATION_CREDENTIAL_SECRET', keys: ['application_credential_secret'], where: 'auth' },
    // keystoneauth's federation options (v3oidcclientcredentials, v3oidcaccesstoken…).
    { variable: 'OS_IDENTITY_PROVIDER', keys: ['identity_provider'], where: 'auth' },
    { variable: 'OS_PROTOCOL', keys: ['protocol'], where: 'auth' },
    { variable: 'OS_CLIENT_ID', keys: ['client_id'], where: 'auth' },
    { variable: 'OS_CLIENT_SECRET', keys: ['client_secret'], where: 'auth' },
    { variable: 'OS_DISCOVERY_ENDPOINT', keys: ['discovery_endpoint'], where: 'auth' },
    { variable: 'OS_ACCESS_TOKEN_ENDPOINT', keys: ['access_token_endpoint'], where: 'auth' },
    { variable: 'OS_ACCESS_TOKEN_TYPE', keys: ['access_token_type'], where: 'auth' },
    { variable: 'OS_OPENID_SCOPE', keys: ['openid_scope'], where: 'auth' },
    // `auth_plugin` and `endpoint_type` are the older names openstacksdk still accepts.
    { variable: 'OS_AUTH_TYPE', keys: ['auth_type', 'auth_plugin'], where: 'top' },
    { variable: 'OS_INTERFACE', keys: ['interface', 'endpoint_type'], where: 'top' },
    { variable: 'OS_IDENTITY_API_VERSION', keys: ['identity_api_version'], where: 'top' }
];
/**
 * The `OS_*` variables equivalent to one cloud of a clouds.yaml, with `secure.yaml` (same shape,
 * usually holding just the passwords) merged over it as openstacksdk does. `cloud` is the name
 * asked for (the `cloud` input or OS_CLOUD); without one, a file with a single cloud means that one.
 * Empty values are left out: openstacksdk treats them as unset too.
 */
function parseCloudsYaml(text, cloud, secureText) {
    const label = secureText === undefined ? 'clouds.yaml' : 'clouds.yaml or secure.yaml';
    const clouds = cloudsOf(load(text, 'clouds.yaml'), 'clouds.yaml');
    if (secureText !== undefined) {
        const secure = load(secureText, 'secure.yaml');
        // An empty secure.yaml adds nothing, as when openstacksdk finds none.
        if (secure !== null && secure !== undefined) {
            for (const [name, entry] of cloudsOf(secure, 'secure.yaml')) {
                const base = clouds.get(name);
                clouds.set(name, base === undefined ? entry : merge(base, entry));
            }
        }
    }
    const name = chooseCloud(clouds, cloud);
    const path = `clouds.${name}`;
    const entry = clouds.get(name);
    if (!isTree(entry))
        throw notMapping(label, path);
    for (const key of ['profile', 'cloud']) {
        if (entry[key] !== undefined && entry[key] !== null) {
            throw new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .UserError */ .yo(`In ${label}, cloud "${(0,_errors_js__WEBPACK_IMPORTED_MODULE_1__/* .oneLine */ .TN)(name, 64)}" uses \`${key}:\`, a vendor profile the action does not read: remove it and write auth_url (and region_name) in the cloud's entry.`);
        }
    }
    const region = firstRegion(entry, label, path);
    // A region's `values` override the cloud's settings for that region, `auth` key by key.
    const config = region?.values ? merge(entry, region.values) : entry;
    const auth = config.auth ?? null;
    if (auth !== null && !isTree(auth))
        throw notMapping(label, `${path}.auth`);
    const variables = {};
    for (const source of SOURCES) {
        const places = [
            [auth, `${path}.auth`],
            [config, path]
        ];
        if (source.where === 'top-first')
            places.reverse();
        if (source.where === 'top')
            places.shift();
        const value = firstValue(source.keys, places, label);
        if (value !== undefined && value !== '')
            variables[source.variable] = value;
    }
    if (region?.name)
        variables.OS_REGION_NAME = region.name;
    return variables;
}
/** Parses one document, with its numbers and booleans kept as written. */
function load(text, file) {
    if (text.length > MAX_YAML_LENGTH) {
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .UserError */ .yo(`${file} is ${text.length} characters long (at most ${MAX_YAML_LENGTH}): check that the right file is passed.`);
    }
    try {
        // `merge` enables `<<: *anchor`, which PyYAML (and so openstacksdk) reads; `logLevel: 'error'`
        // keeps the library from printing warnings, which could quote the file, to the step's log.
        // The library's own duplicate-key check is quadratic in a mapping's size, so one is done below.
        const lineCounter = new yaml__WEBPACK_IMPORTED_MODULE_0__/* .LineCounter */ .HN();
        const doc = (0,yaml__WEBPACK_IMPORTED_MODULE_0__/* .parseDocument */ .Tp)(text, { merge: true, logLevel: 'error', uniqueKeys: false, lineCounter });
        const error = doc.errors[0];
        if (error)
            throw error;
        // Scalars keep their source text where YAML would make them something else: a project id
        // written `0123` is the string "0123", not 123; `identity_api_version: 3` is "3".
        (0,yaml__WEBPACK_IMPORTED_MODULE_0__/* .visit */ .YR)(doc, {
            Scalar(_key, node) {
                const value = node.value;
                const typed = typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean';
                // Dates and binaries come from YAML 1.1 tags; symbols are merge keys and must stay.
                if ((typed || (typeof value === 'object' && value !== null)) && typeof node.source === 'string') {
                    node.value = node.source;
                }
            }
        });
        (0,yaml__WEBPACK_IMPORTED_MODULE_0__/* .visit */ .YR)(doc, {
            Map(_key, node) {
                // PyYAML keeps the last of two equal keys; refusing them is safer than guessing which
                // password was meant. Compared as the object keys they become, after the pass above.
                const seen = new Set();
                for (const { key } of node.items) {
                    if (!(0,yaml__WEBPACK_IMPORTED_MODULE_0__/* .isScalar */ .jn)(key) || typeof key.value === 'symbol')
                        continue;
                    if (seen.has(String(key.value))) {
                        const line = key.range ? ` at line ${lineCounter.linePos(key.range[0]).line}` : '';
                        throw new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .UserError */ .yo(`${file} has the same key twice in one mapping${line}: keep only one.`);
                    }
                    seen.add(String(key.value));
                }
            }
        });
        return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    }
    catch (error) {
        throw error instanceof _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .UserError */ .yo ? error : readError(error, file);
    }
}
/** The library's messages quote the offending line, so only positions and codes are passed on. */
function readError(error, file) {
    if (error instanceof yaml__WEBPACK_IMPORTED_MODULE_0__/* .YAMLError */ .IP) {
        const where = error.linePos ? ` at line ${error.linePos[0].line}, column ${error.linePos[0].col}` : '';
        const what = error.code.toLowerCase().replace(/_/g, ' ');
        if (error.code === 'RESOURCE_EXHAUSTION') {
            return new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .UserError */ .yo(`${file} nests lists or mappings too deeply to be read${where}: check that the right file is passed.`);
        }
        if (error.code === 'MULTIPLE_DOCS') {
            return new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .UserError */ .yo(`${file} holds more than one YAML document (a second one starts${where}): keep a single document.`);
        }
        return new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .UserError */ .yo(`${file} is not valid YAML (${what}${where}): fix the file there.`);
    }
    if (error instanceof ReferenceError) {
        if (/excessive alias/i.test(error.message)) {
            return new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .UserError */ .yo(`${file} expands its YAML aliases (*name) too many times (at most ${MAX_ALIAS_COUNT}): write the values out instead.`);
        }
        return new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .UserError */ .yo(`${file} uses a YAML alias (*name) that no anchor (&name) before it defines: define the anchor first.`);
    }
    if (error instanceof RangeError) {
        return new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .UserError */ .yo(`${file} nests lists or mappings too deeply to be read: check that the right file is passed.`);
    }
    if (error instanceof Error && /merge/i.test(error.message)) {
        return new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .UserError */ .yo(`${file} uses a merge key (<<) on something other than a mapping: merge only mappings, e.g. <<: *defaults.`);
    }
    // Everything in the try block is the library reading this text, so anything else it throws
    // is still about the text; its message is not passed on since it may quote the text.
    return new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .UserError */ .yo(`${file} could not be read as a YAML document of keys and values: check its syntax.`);
}
/** The `clouds:` mapping of a document, each entry with its keys normalized. */
function cloudsOf(doc, file) {
    if (doc === null || doc === undefined) {
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .UserError */ .yo(`${file} is empty: it should start with \`clouds:\` and hold one entry per cloud.`);
    }
    if (!isTree(doc))
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .UserError */ .yo(`${file} is not a YAML mapping: it should start with \`clouds:\` and hold one entry per cloud.`);
    if (doc.clouds === undefined || doc.clouds === null) {
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .UserError */ .yo(`${file} has no \`clouds:\` key: it should start with \`clouds:\` and hold one entry per cloud.`);
    }
    if (!isTree(doc.clouds))
        throw notMapping(file, 'clouds');
    return new Map(Object.entries(doc.clouds).map(([name, entry]) => [name, normalizeKeys(entry)]));
}
function chooseCloud(clouds, cloud) {
    const names = [...clouds.keys()];
    if (names.length === 0)
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .UserError */ .yo('clouds.yaml has no clouds under `clouds:`: add the cloud to use.');
    const wanted = cloud?.trim();
    if (wanted) {
        if (clouds.has(wanted))
            return wanted;
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .UserError */ .yo(`clouds.yaml has no cloud named "${(0,_errors_js__WEBPACK_IMPORTED_MODULE_1__/* .oneLine */ .TN)(wanted, 64)}": its clouds are ${listNames(names)}; set the \`cloud\` input or OS_CLOUD to one of them.`);
    }
    if (names.length === 1)
        return names[0];
    throw new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .UserError */ .yo(`clouds.yaml has clouds ${listNames(names)}: choose one with the \`cloud\` input or OS_CLOUD.`);
}
function listNames(names) {
    const shown = names.slice(0, MAX_LISTED_CLOUDS).map(name => (0,_errors_js__WEBPACK_IMPORTED_MODULE_1__/* .oneLine */ .TN)(name, 64));
    const more = names.length - shown.length;
    return more > 0 ? `${shown.join(', ')} and ${more} more` : shown.join(', ');
}
/**
 * The region to use when none is asked for: openstacksdk takes the first of `regions:` (strings or
 * `{name, values}`), else of `region_name` (a string, a deprecated comma-separated string, or a list).
 * The `region` input, applied by the caller over these values, can still pick another one.
 */
function firstRegion(entry, label, path) {
    const key = entry.regions !== undefined && entry.regions !== null ? 'regions' : 'region_name';
    const raw = entry[key];
    if (raw === undefined || raw === null)
        return undefined;
    if (typeof raw === 'string')
        return { name: raw.split(',')[0] };
    if (!Array.isArray(raw))
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .UserError */ .yo(`In ${label}, \`${path}.${key}\` must be a region name or a list of them: fix its value.`);
    const first = raw[0];
    const at = `${path}.${key}[0]`;
    if (first === undefined || first === null)
        return undefined;
    if (typeof first === 'string')
        return { name: first };
    if (!isTree(first) || Object.keys(first).some(k => k !== 'name' && k !== 'values')) {
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .UserError */ .yo(`In ${label}, \`${at}\` must be a region name or a mapping with \`name\` and \`values\`: fix that entry.`);
    }
    const name = scalar(first.name, `${at}.name`, label);
    if (!name)
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .UserError */ .yo(`In ${label}, \`${at}\` has no \`name\`: give the region its name.`);
    if (first.values === undefined || first.values === null)
        return { name };
    if (!isTree(first.values))
        throw notMapping(label, `${at}.values`);
    return { name, values: first.values };
}
function firstValue(keys, places, label) {
    for (const key of keys) {
        for (const [tree, path] of places) {
            const value = tree?.[key];
            if (value !== undefined && value !== null)
                return scalar(value, `${path}.${key}`, label);
        }
    }
    return undefined;
}
function scalar(value, path, label) {
    if (value === undefined || value === null)
        return undefined;
    if (typeof value === 'string')
        return value;
    if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
        return String(value);
    throw new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .UserError */ .yo(`In ${label}, \`${path}\` is a list or mapping where a single value belongs: write it as one string.`);
}
function notMapping(file, path) {
    return new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .UserError */ .yo(`In ${file}, \`${path}\` must be a mapping of keys to values: fix its indentation or its value.`);
}
function isTree(value) {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
        return false;
    const proto = Object.getPrototypeOf(value);
    return proto === Object.prototype || proto === null;
}
/** openstacksdk reads `auth-url` as `auth_url`, at every depth of a cloud's entry. */
function normalizeKeys(value) {
    if (Array.isArray(value))
        return value.map(normalizeKeys);
    if (!isTree(value))
        return value;
    // fromEntries defines own properties, so a `__proto__` key stays a plain key.
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key.replace(/-/g, '_'), normalizeKeys(item)]));
}
/** openstacksdk's merge_clouds: `over` wins, mappings merge key by key at every depth. */
function merge(base, over) {
    if (!isTree(base) || !isTree(over))
        return over;
    const out = Object.fromEntries(Object.entries(base));
    for (const [key, value] of Object.entries(over)) {
        const current = Object.hasOwn(out, key) ? out[key] : undefined;
        // defineProperty, not assignment: a `__proto__` key must stay data, not become a prototype.
        Object.defineProperty(out, key, { value: merge(current, value), writable: true, enumerable: true, configurable: true });
    }
    return out;
}


/***/ })

};
