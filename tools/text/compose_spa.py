#!/usr/bin/env python3
"""compose_spa.py — composed Spanish sentences for the synthetic corpus.

`make demo` trains its base model from scratch on one language before the
Amharic adapters.  Spanish is that language: its spelling is close to
phonemic, so a small character CTC model learns to spell what it hears from
minutes of audio, where English spelling would need far more data than a
15-minute demo can synthesize and train on.  This script composes
grammatical sentences (optional time phrase + subject + preterite predicate
+ optional place, with gender and number agreement) from word lists written
for accent, deterministically (fixed seed), one per line; the output is
data/text/spa.txt after its comment header.

    python3 tools/text/compose_spa.py 2000 > /tmp/spa.txt
"""
import random
import sys

TIMES = [
    "ayer", "anoche", "esta mañana", "el domingo", "después del almuerzo", "antes de la cena",
    "el verano pasado", "por la tarde", "hoy temprano", "el viernes por la noche", "hace dos días",
    "al mediodía", "después de la escuela", "durante la tormenta", "al amanecer", "el lunes",
    "la semana pasada", "después de la reunión", "por la mañana", "el año pasado",
]
# (noun, gender)
PEOPLE = [
    ("campesino", "m"), ("médico", "m"), ("maestra", "f"), ("estudiante", "m"), ("conductor", "m"),
    ("panadera", "f"), ("enfermera", "f"), ("pintor", "m"), ("pescador", "m"), ("cantante", "f"),
    ("vecino", "m"), ("vecina", "f"), ("capitán", "m"), ("jardinero", "m"), ("escritora", "f"),
    ("carpintero", "m"), ("bailarina", "f"), ("ingeniera", "f"), ("músico", "m"), ("cocinera", "f"),
    ("sastre", "m"), ("abuela", "f"), ("abuelo", "m"), ("niña", "f"), ("niño", "m"), ("tía", "f"),
    ("tío", "m"), ("hermana", "f"), ("hermano", "m"), ("amiga", "f"), ("amigo", "m"),
]
# adjective stems: (masc, fem)
ADJS = [
    ("viejo", "vieja"), ("joven", "joven"), ("cansado", "cansada"), ("feliz", "feliz"),
    ("tranquilo", "tranquila"), ("ocupado", "ocupada"), ("valiente", "valiente"), ("amable", "amable"),
    ("nuevo", "nueva"), ("alto", "alta"), ("paciente", "paciente"), ("alegre", "alegre"),
    ("orgulloso", "orgullosa"), ("curioso", "curiosa"), ("pequeño", "pequeña"), ("serio", "seria"),
]
NAMES = ["María", "David", "Amina", "Pedro", "Lucía", "Samuel", "Gracia", "Tomás", "Elena", "José",
         "Rut", "Daniel", "Sara", "Miguel", "Ester", "Carlos", "Alicia", "Martín", "Rosa", "Pablo"]
OBJ_ADJS = [
    ("pesado", "pesada"), ("pequeño", "pequeña"), ("rojo", "roja"), ("roto", "rota"), ("limpio", "limpia"),
    ("blanco", "blanca"), ("vacío", "vacía"), ("verde", "verde"), ("extraño", "extraña"), ("largo", "larga"),
    ("redondo", "redonda"), ("amarillo", "amarilla"), ("nuevo", "nueva"), ("frío", "fría"), ("azul", "azul"),
    ("viejo", "vieja"), ("bonito", "bonita"), ("oscuro", "oscura"),
]
PREDICATES = [
    ("llevó", [("cesta", "f"), ("caja", "f"), ("bolsa", "f"), ("cubo", "m"), ("silla", "f")]),
    ("pintó", [("cerca", "f"), ("puerta", "f"), ("pared", "f"), ("barco", "m"), ("mesa", "f")]),
    ("encontró", [("llave", "f"), ("moneda", "f"), ("anillo", "m"), ("carta", "f"), ("mapa", "m")]),
    ("compró", [("pan", "m"), ("lámpara", "f"), ("abrigo", "m"), ("bicicleta", "f"), ("radio", "f")]),
    ("abrió", [("ventana", "f"), ("puerta", "f"), ("cajón", "m"), ("paquete", "m"), ("frasco", "m")]),
    ("limpió", [("cocina", "f"), ("suelo", "m"), ("coche", "m"), ("ventana", "f"), ("botella", "f")]),
    ("perdió", [("paraguas", "m"), ("billete", "m"), ("guante", "m"), ("cartera", "f"), ("lápiz", "m")]),
    ("arregló", [("techo", "m"), ("reloj", "m"), ("bicicleta", "f"), ("radio", "f"), ("cerca", "f")]),
    ("lavó", [("camisa", "f"), ("manta", "f"), ("taza", "f"), ("plato", "m"), ("perro", "m")]),
    ("vendió", [("caballo", "m"), ("casa", "f"), ("piano", "m"), ("cámara", "f"), ("pescado", "m")]),
    ("cocinó", [("sopa", "f"), ("arroz", "m"), ("pollo", "m"), ("cena", "f"), ("tortilla", "f")]),
    ("miró", [("pájaro", "m"), ("nube", "f"), ("río", "m"), ("partido", "m"), ("luna", "f")]),
    ("plantó", [("árbol", "m"), ("semilla", "f"), ("flor", "f"), ("jardín", "m"), ("cebolla", "f")]),
    ("escribió", [("carta", "f"), ("historia", "f"), ("canción", "f"), ("poema", "m"), ("nota", "f")]),
    ("dejó", [("vaso", "m"), ("teléfono", "m"), ("cuchara", "f"), ("huevo", "m"), ("plato", "m")]),
    ("siguió", [("camino", "m"), ("carretera", "f"), ("río", "m"), ("señal", "f"), ("sendero", "m")]),
    ("buscó", [("gato", "m"), ("libro", "m"), ("maleta", "f"), ("llave", "f"), ("sombrero", "m")]),
    ("escuchó", [("campana", "f"), ("música", "f"), ("trueno", "m"), ("voz", "f"), ("motor", "m")]),
    ("preparó", [("comida", "f"), ("maleta", "f"), ("fiesta", "f"), ("café", "m"), ("té", "m")]),
    ("trajo", [("regalo", "m"), ("fruta", "f"), ("leche", "f"), ("periódico", "m"), ("queso", "m")]),
]
INTRANS = ["se rió", "esperó", "cantó en voz baja", "durmió tarde", "corrió a casa", "sonrió",
           "trabajó mucho", "caminó despacio", "llegó temprano", "se quedó dentro", "bailó", "gritó"]
PLACES = [
    "cerca de la estación", "en la cocina", "en el mercado", "junto al río", "en el jardín",
    "detrás de la escuela", "sobre el puente", "en el puerto", "en el pueblo", "bajo el árbol",
    "en la parada del autobús", "en la iglesia vieja", "al lado del camino", "en la granja",
    "en la ciudad", "en el hotel", "cerca del lago", "en el bosque", "en la panadería", "en la playa",
]


def art(g, definite, plural=False):
    if definite:
        return {("m", False): "el", ("f", False): "la", ("m", True): "los", ("f", True): "las"}[(g, plural)]
    return {("m", False): "un", ("f", False): "una", ("m", True): "unos", ("f", True): "unas"}[(g, plural)]


def plural(w):
    if w.endswith(("a", "e", "i", "o", "u", "é")):
        return w + "s"
    if w.endswith("z"):
        return w[:-1] + "ces"
    return w + "es"


def deaccent_plural(w):
    # canción -> canciones, cajón -> cajones, jardín -> jardines
    for a, b in (("ón", "on"), ("ín", "in"), ("án", "an")):
        if w.endswith(a):
            return w[:-2] + b + "es"
    return plural(w)


def subject(r):
    k = r.random()
    if k < 0.25:
        return r.choice(NAMES)
    noun, g = r.choice(PEOPLE)
    if k < 0.45:
        poss = r.choice(["mi", "su", "nuestro" if g == "m" else "nuestra"])
        return f"{poss} {noun}"
    a = r.choice(ADJS)[0 if g == "m" else 1]
    d = r.random() < 0.6
    if r.random() < 0.5:
        return f"{art(g, d)} {noun} {a}"
    return f"{art(g, d)} {a} {noun}" if a in ("viejo", "vieja", "joven", "nuevo", "nueva", "pequeño", "pequeña") else f"{art(g, d)} {noun} {a}"


def predicate(r):
    if r.random() < 0.15:
        return r.choice(INTRANS)
    verb, objs = r.choice(PREDICATES)
    noun, g = r.choice(objs)
    pl = r.random() < 0.25
    if pl:
        n = deaccent_plural(noun) if noun[-2:] in ("ón", "ín", "án") else plural(noun)
        if noun in ("paraguas",):
            n = noun
    else:
        n = noun
    det = r.choice(["def", "indef", "num"]) if pl else r.choice(["def", "indef"])
    if det == "num":
        head = r.choice(["dos", "tres", "cuatro"]) + " " + n
    else:
        head = f"{art(g, det == 'def', pl)} {n}"
    if r.random() < 0.5:
        adj = r.choice(OBJ_ADJS)[0 if g == "m" else 1]
        if pl:
            adj = plural(adj) if not adj.endswith("z") else adj[:-1] + "ces"
        head += " " + adj
    return f"{verb} {head}"


def sentence(r):
    t = r.choice(TIMES) if r.random() < 0.4 else None
    s, p = subject(r), predicate(r)
    place = r.choice(PLACES) if r.random() < 0.6 else None
    if t and r.random() < 0.5:
        parts = [t + ",", s, p] + ([place] if place else [])
    else:
        parts = [s, p] + ([place] if place else []) + ([t] if t else [])
    text = " ".join(parts)
    return text[0].upper() + text[1:] + "."


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    r = random.Random(20261127)
    seen, out = set(), []
    while len(out) < n:
        s = sentence(r)
        if s not in seen:
            seen.add(s)
            out.append(s)
    print("\n".join(out))


if __name__ == "__main__":
    main()
