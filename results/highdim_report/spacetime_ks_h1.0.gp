set encoding utf8
set terminal svg size 760,820 dynamic enhanced font 'Helvetica,13' background '#ffffff'
set output 'spacetime_ks_h1.0.svg.tmp'
set ylabel 'site'
set yrange [0.5:64.5]
set xrange [0:40]
set multiplot layout 3,1 title "Space-time forecast of ks from one test state, h = 1.0: truth, trk10 forecast, error" noenhanced
set cbrange [-2.97673:2.74428]
set palette defined (0 '#313695', 0.5 '#ffffbf', 1 '#a50026')
set title 'truth' noenhanced
unset xlabel
plot 'spacetime_ks_h1.0.dat' index 0 using 1:2:3 with image notitle
set cbrange [-2.97673:2.74428]
set palette defined (0 '#313695', 0.5 '#ffffbf', 1 '#a50026')
set title 'forecast' noenhanced
unset xlabel
plot 'spacetime_ks_h1.0.dat' index 1 using 1:2:3 with image notitle
set cbrange [-2.97673:2.97673]
set palette defined (0 '#2166ac', 0.5 '#f7f7f7', 1 '#b2182b')
set title 'forecast - truth' noenhanced
set xlabel 'lead time'
plot 'spacetime_ks_h1.0.dat' index 2 using 1:2:3 with image notitle
unset multiplot
